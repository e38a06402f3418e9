import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** Creates a temp dir; `cleanup()` removes it. */
export const makeTempDir = (prefix = "denia-test-") => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}
