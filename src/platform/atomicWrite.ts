/**
 * Crash-safe file writes for secret material: write a temp file in the same
 * directory (exclusive create, final mode from the start), fsync it, then
 * rename it over the target — or hard-link it when the target must never be
 * replaced — and fsync the directory. A failure removes the temp file.
 */
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect } from "effect"

export interface AtomicWriteOptions {
  /** File mode, e.g. 0o600. Applied to the temp file before it becomes visible. */
  readonly mode: number
  /** Never replace an existing target (fails with AlreadyExists instead). */
  readonly noReplace?: boolean | undefined
}

export const TEMP_SUFFIX = ".tmp"

export const tempPathFor = (target: string): string =>
  path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`)

/** fsyncs a directory so a rename/link in it survives a crash (best effort: some file systems refuse). */
export const syncDirectory = (dir: string): Effect.Effect<void, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (f) => f.sync))
  }).pipe(Effect.ignore)

export const writeFileAtomic = (
  target: string,
  data: Uint8Array,
  options: AtomicWriteOptions
): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const tmp = tempPathFor(target)
    const write = Effect.gen(function*() {
      yield* Effect.scoped(
        Effect.gen(function*() {
          const file = yield* fs.open(tmp, { flag: "wx", mode: options.mode })
          yield* file.writeAll(data)
          yield* file.sync
        })
      )
      // the process umask may have narrowed or (for odd umasks) not matched the requested mode
      yield* fs.chmod(tmp, options.mode)
      if (options.noReplace === true) {
        yield* fs.link(tmp, target)
        yield* fs.remove(tmp)
      } else {
        yield* fs.rename(tmp, target)
      }
    })
    yield* write.pipe(Effect.onError(() => fs.remove(tmp).pipe(Effect.ignore)))
    yield* syncDirectory(path.dirname(target))
  })

/** Creates a directory (and missing parents) and sets its mode; existing directories get the mode too when `enforce`. */
export const ensureDirectory = (
  dir: string,
  mode: number,
  enforce: boolean
): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const existed = yield* fs.exists(dir)
    if (!existed) yield* fs.makeDirectory(dir, { recursive: true, mode })
    if (!existed || enforce) yield* fs.chmod(dir, mode)
  })
