/** The manifest's path rule (`dockerfile`, `context`): relative, inside the project directory. Pure, no dependencies (prepack.ts runs it before the CLI is loaded). */
import * as path from "node:path"

/** Why `p` is not a relative path inside the project directory, or undefined when it is. */
export const relativePathProblem = (p: string): string | undefined =>
  p.length === 0 || p.length > 1024 || p.includes("\0") || path.isAbsolute(p) || p.split(/[\\/]/).includes("..")
    ? "must be a relative path inside the project directory (no '..')"
    : undefined
