/**
 * Publishing an unpacked bundle (`<artifacts>/.tmp-…` with its `rootfs`) under its digest: the process
 * manifest is written beside the rootfs and the directory renamed into place. A complete bundle already
 * there wins (another pull of the same digest finished first; the caller reads that one), a broken
 * leftover without `manifest.json` is replaced.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { syncDirectoryPromise } from "../platform/atomicWrite.js"

const renamed = async (from: string, to: string) => {
  try {
    await fs.rename(from, to)
    return true
  } catch (e) {
    const code = e instanceof Error && "code" in e ? e.code : undefined
    if (code === "EEXIST" || code === "ENOTEMPTY") return false
    throw e
  }
}

/** True when `tmp` became `bundleDir`; false when a complete bundle was there already. */
export const publishBundle = async (tmp: string, bundleDir: string, encodedManifest: unknown): Promise<boolean> => {
  await fs.writeFile(path.join(tmp, "manifest.json"), `${JSON.stringify(encodedManifest, null, 2)}\n`, { mode: 0o644 })
  await fs.chmod(tmp, 0o755)
  if (!(await renamed(tmp, bundleDir))) {
    const complete = await fs.stat(path.join(bundleDir, "manifest.json")).then(() => true, () => false)
    if (complete) return false
    await fs.rm(bundleDir, { recursive: true, force: true })
    if (!(await renamed(tmp, bundleDir))) return false
  }
  await syncDirectoryPromise(path.dirname(bundleDir))
  return true
}
