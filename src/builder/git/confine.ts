/**
 * Keeps a build inside its checkout: the context directory and the
 * Dockerfile are resolved with realpath (so a symlinked directory that
 * points outside is caught, not only `..`), and no symlink anywhere in the
 * checkout may point outside it. The same walk enforces the size and entry
 * caps of a checkout.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { GitFailed } from "./errors.js"

export interface ConfinedBuild {
  /** Absolute, real path of the context directory (inside the checkout). */
  readonly contextDir: string
  /** The Dockerfile relative to `contextDir` (inside it, no `..`). */
  readonly dockerfile: string
}

export interface TreeLimits {
  readonly maxBytes: number
  readonly maxEntries: number
}

const escape = (message: string) => new GitFailed({ reason: "confinement", message })

const inside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep)

/** Lexical checks first (no absolute path, no `..`), then the real path. */
const lexical = (field: string, rel: string): Effect.Effect<void, GitFailed> =>
  rel === "" || rel.includes("\0") || path.isAbsolute(rel) || rel.split(/[\\/]/).includes("..")
    ? Effect.fail(escape(`${field}: ${JSON.stringify(rel)} must be a relative path inside the repository without '..'`))
    : Effect.void

const realpath = (field: string, p: string, rel: string) =>
  Effect.tryPromise({
    try: () => fs.realpath(p),
    catch: () => new GitFailed({ reason: "confinement", message: `${field}: ${JSON.stringify(rel)} does not exist in the checkout` })
  })

/**
 * Resolves `context` (relative to the checkout) and `dockerfile` (relative to
 * the context, like Compose) so both stay inside `checkoutDir`.
 */
export const confineBuild = (checkoutDir: string, context: string, dockerfile: string): Effect.Effect<ConfinedBuild, GitFailed> =>
  Effect.gen(function*() {
    yield* lexical("context", context)
    yield* lexical("dockerfile", dockerfile)
    const root = yield* realpath("context", checkoutDir, ".")
    const contextDir = yield* realpath("context", path.join(root, context), context)
    if (!inside(root, contextDir)) {
      return yield* escape(`context: ${JSON.stringify(context)} resolves outside the checkout (a symlink points out of the repository)`)
    }
    const stat = yield* Effect.promise(() => fs.stat(contextDir).catch(() => undefined))
    if (stat === undefined || !stat.isDirectory()) return yield* escape(`context: ${JSON.stringify(context)} is not a directory`)
    const file = yield* realpath("dockerfile", path.join(contextDir, dockerfile), dockerfile)
    if (!inside(contextDir, file) || file === contextDir) {
      return yield* escape(`dockerfile: ${JSON.stringify(dockerfile)} resolves outside the context directory`)
    }
    const fileStat = yield* Effect.promise(() => fs.stat(file).catch(() => undefined))
    if (fileStat === undefined || !fileStat.isFile()) return yield* escape(`dockerfile: ${JSON.stringify(dockerfile)} is not a file`)
    return { contextDir, dockerfile: path.relative(contextDir, file) }
  })

/**
 * Walks the checkout (`.git` included in the size, not in the link check):
 * fails when it holds more than the caps or a symlink whose target leaves
 * the checkout.
 */
export const checkTree = (checkoutDir: string, limits: TreeLimits): Effect.Effect<void, GitFailed> =>
  Effect.tryPromise({
    try: async () => {
      const root = await fs.realpath(checkoutDir)
      let bytes = 0
      let entries = 0
      const pending: Array<{ dir: string; inGit: boolean }> = [{ dir: root, inGit: false }]
      while (pending.length > 0) {
        const next = pending.pop()
        if (next === undefined) break
        const names = await fs.readdir(next.dir)
        for (const name of names) {
          entries++
          if (entries > limits.maxEntries) {
            return { problem: "limit", message: `the checkout has more than ${limits.maxEntries} files` } as const
          }
          const full = path.join(next.dir, name)
          const st = await fs.lstat(full)
          if (st.isDirectory()) {
            pending.push({ dir: full, inGit: next.inGit || (next.dir === root && name === ".git") })
          } else if (st.isSymbolicLink()) {
            if (next.inGit) continue
            const target = await fs.readlink(full)
            const resolved = path.resolve(next.dir, target)
            // lexically and really (a chain such as `a -> b/..` with `b -> .` only escapes for real)
            const real = await fs.realpath(full).catch(() => resolved)
            if (!inside(root, resolved) || !inside(root, real)) {
              return {
                problem: "confinement",
                message: `${path.relative(root, full)}: symlink points outside the repository (${
                  target.startsWith("/") ? "absolute target" : "'..' target"
                })`
              } as const
            }
          } else {
            bytes += st.size
            if (bytes > limits.maxBytes) {
              return { problem: "limit", message: `the checkout is larger than ${Math.floor(limits.maxBytes / (1024 * 1024))} MB` } as const
            }
          }
        }
      }
      return undefined
    },
    catch: (cause) => new GitFailed({ reason: "clone", message: "could not inspect the checkout", cause })
  }).pipe(
    Effect.flatMap((found) =>
      found === undefined ? Effect.void : Effect.fail(new GitFailed({ reason: found.problem, message: found.message }))
    )
  )
