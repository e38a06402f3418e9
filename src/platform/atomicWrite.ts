/**
 * Crash-safe file writes (secrets, TLS keys and certificates, registry blobs
 * and manifests, the OCI layer cache, CLI profiles): write a temp file in the
 * same directory (exclusive create, final mode from the start), fsync it,
 * then rename it over the target — or hard-link it when the target must never
 * be replaced — and fsync the directory. A failure removes the temp file.
 * `publishFile` is the last half for files written elsewhere (streamed
 * uploads, downloads). The `…Promise` variants run the same effects on
 * Node's file system for promise-based code.
 */
import { FileSystem } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Cause, Effect, Exit } from "effect"
import { randomBytes } from "node:crypto"
import * as path from "node:path"

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

export interface PublishOptions {
  /** File mode set before the file becomes visible; unchanged when absent. */
  readonly mode?: number | undefined
  /** Never replace an existing target (fails with AlreadyExists instead). */
  readonly noReplace?: boolean | undefined
}

/** chmod, then rename (or link + unlink) `tmp` to `target`, then fsync the target's directory. */
const commit = (fs: FileSystem.FileSystem, tmp: string, target: string, options: PublishOptions) =>
  Effect.gen(function*() {
    // the process umask may have narrowed or (for odd umasks) not matched the requested mode
    if (options.mode !== undefined) yield* fs.chmod(tmp, options.mode)
    if (options.noReplace === true) {
      yield* fs.link(tmp, target)
      yield* fs.remove(tmp)
    } else {
      yield* fs.rename(tmp, target)
    }
    yield* syncDirectory(path.dirname(target))
  })

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
      yield* commit(fs, tmp, target, options)
    })
    yield* write.pipe(Effect.onError(() => fs.remove(tmp).pipe(Effect.ignore)))
  })

/**
 * Publishes a file that was written elsewhere (a streamed upload, a download)
 * at `target`: fsync it, set its mode, rename or link it, fsync the directory.
 * `tmp` must be on the target's file system; on failure it is left where it
 * is (its writer owns it).
 */
export const publishFile = (
  tmp: string,
  target: string,
  options: PublishOptions = {}
): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* Effect.scoped(Effect.flatMap(fs.open(tmp, { flag: "r" }), (f) => f.sync))
    yield* commit(fs, tmp, target, options)
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

/** Runs one of the effects above on Node's file system; rejects with the PlatformError itself. */
const runOnNode = <A>(effect: Effect.Effect<A, PlatformError, FileSystem.FileSystem>): Promise<A> =>
  Effect.runPromiseExit(Effect.provide(effect, NodeFileSystem.layer)).then((exit) =>
    Exit.isSuccess(exit) ? exit.value : Promise.reject(Cause.squash(exit.cause))
  )

/** `writeFileAtomic` for promise-based code. */
export const writeFileAtomicPromise = (target: string, data: Uint8Array, options: AtomicWriteOptions): Promise<void> =>
  runOnNode(writeFileAtomic(target, data, options))

/** `publishFile` for promise-based code. */
export const publishFilePromise = (tmp: string, target: string, options: PublishOptions = {}): Promise<void> =>
  runOnNode(publishFile(tmp, target, options))

/** `syncDirectory` for promise-based code (after renaming a directory into place). */
export const syncDirectoryPromise = (dir: string): Promise<void> => runOnNode(syncDirectory(dir))

/** `ensureDirectory` for promise-based code. */
export const ensureDirectoryPromise = (dir: string, mode: number, enforce: boolean): Promise<void> =>
  runOnNode(ensureDirectory(dir, mode, enforce))
