import * as path from "node:path"
import { fileURLToPath } from "node:url"

export interface HelperPathOptions {
  /** Explicit path (e.g. from config or a test); wins over the default. */
  readonly override?: string | undefined
  /** Package root to resolve `build/native/denia-init` against. */
  readonly packageRoot?: string
}

/** The package root: this file is `src/runtime/helperPath.ts` in the source
 * tree and `dist/runtime/helperPath.js` when built; both sit two levels down. */
const defaultPackageRoot = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")

/** Where the compiled `denia-init` helper is expected. Does not check that
 * it exists: `Runtime.layer` and `doctor` do. */
export const resolveHelperPath = (options: HelperPathOptions = {}): string => {
  if (options.override !== undefined && options.override !== "") return path.resolve(options.override)
  return path.join(options.packageRoot ?? defaultPackageRoot(), "build", "native", "denia-init")
}
