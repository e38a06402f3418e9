/**
 * The upload store (`<data_dir>/uploads/`): a build context arrives as a gzip- or zstd-compressed tar
 * (or a declared plain tar, ADR 0820), streams to `<id>.partial` while every entry is checked
 * (rules.ts), and only a fully accepted body is renamed to `<id>.tar.gz|.tar.zst|.tar` with its
 * metadata `<id>.json`. Uploads expire after
 * `upload_ttl_minutes` (a sweep removes them and stale partials); a build unpacks one into a context
 * directory of its own.
 */
import { Context, Duration, Effect, Layer, Option, Schema } from "effect"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import type { Readable } from "node:stream"
import { uuidv7 } from "../../domain/ids.js"
import { periodic } from "../../platform/periodic.js"
import { UploadNotFound, UploadRejected, UploadStorageError } from "../errors.js"
import { bodyCap, type UploadFormat } from "./archive.js"
import { type DeclaredBody, receiveFromSocket, receiveStream } from "./receive.js"
import { type ArchiveCaps, rejected } from "./rules.js"
import { unpackArchive } from "./unpack.js"

export const UploadInfo = Schema.Struct({
  id: Schema.String,
  serviceId: Schema.String,
  format: Schema.Literal("gzip", "zstd", "tar"),
  bytes: Schema.Number,
  entries: Schema.Number,
  unpackedBytes: Schema.Number,
  createdAt: Schema.String,
  expiresAt: Schema.String
})
export type UploadInfo = typeof UploadInfo.Type

export interface UploadsOptions {
  /** `<data_dir>/uploads` */
  readonly dir: string
  readonly caps: ArchiveCaps
  /**
   * The `denia-init` helper: the receive check and the unpack move file data through its tar pipe
   * (ADR 0902); without it (or with a helper lacking that mode) both run on the in-process gate.
   */
  readonly tarPipeHelper?: string
  readonly ttlMinutes: number
  /** Where builds unpack uploads (`<data_dir>/builds/contexts`). */
  readonly contextsDir: string
}

export interface UploadsApi {
  /**
   * Streams `body` into the store, checking it; `declaredLength` (Content-Length) is checked against the
   * cap first. `plainTar`: the client declared a plain tar (`application/x-tar`).
   */
  readonly receive: (
    serviceId: string,
    body: Readable,
    declaredLength: number | undefined,
    plainTar?: boolean
  ) => Effect.Effect<UploadInfo, UploadRejected | UploadStorageError>
  readonly get: (serviceId: string, uploadId: string) => Effect.Effect<UploadInfo, UploadNotFound>
  /** The service's stored uploads that have not expired, newest first. */
  readonly list: (serviceId: string) => Effect.Effect<ReadonlyArray<UploadInfo>>
  /** Unpacks the upload into `dest` (created), checking it again. */
  readonly unpack: (
    serviceId: string,
    uploadId: string,
    dest: string
  ) => Effect.Effect<void, UploadNotFound | UploadRejected | UploadStorageError>
  /** Runs `use` on a fresh directory holding the unpacked upload, removed afterwards. */
  readonly withContext: <A, E, R>(
    serviceId: string,
    uploadId: string,
    use: (dir: string) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | UploadNotFound | UploadRejected | UploadStorageError, R>
  /** Removes expired uploads and stale partials; returns how many files went. */
  readonly sweep: Effect.Effect<number>
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const decodeInfo = Schema.decodeUnknownOption(Schema.parseJson(UploadInfo))

const storage = (message: string) => (cause: unknown) => new UploadStorageError({ message, cause })

export const makeUploads = (options: UploadsOptions) =>
  Effect.gen(function*() {
    const dir = options.dir
    yield* Effect.tryPromise({
      try: () => fsp.mkdir(dir, { recursive: true, mode: 0o700 }),
      catch: storage("cannot create the upload store")
    })
    const infoPath = (id: string) => path.join(dir, `${id}.json`)
    const dataPath = (id: string, format: UploadFormat) =>
      path.join(dir, `${id}.tar${format === "gzip" ? ".gz" : format === "zstd" ? ".zst" : ""}`)
    const mib = (bytes: number) => Math.round(bytes / (1024 * 1024))
    const tooLarge = (plainTar: boolean) =>
      plainTar
        ? rejected(
          "too-large",
          "",
          `the plain tar is larger than ${mib(bodyCap(options.caps, true))} MiB (upload_max_unpacked_mb and header room)`,
          413
        )
        : rejected("too-large", "", `the upload is larger than ${mib(options.caps.maxBytes)} MiB (upload_max_mb)`, 413)

    const receive = (serviceId: string, body: Readable, declaredLength: number | undefined, plainTar = false) =>
      Effect.gen(function*() {
        if (declaredLength !== undefined && declaredLength > bodyCap(options.caps, plainTar)) return yield* tooLarge(plainTar)
        const declared: DeclaredBody = { plainTar, tooLarge }
        const id = uuidv7()
        const partial = path.join(dir, `${id}.partial`)
        const result = yield* Effect.tryPromise({
          try: async () => {
            // on a plain connection the helper takes the body from the socket into the file and the check (ADR 0904)
            const received = await receiveFromSocket(body, partial, options.caps, options.tarPipeHelper, declared) ??
              await receiveStream(body, partial, options.caps, options.tarPipeHelper, declared)
            const { format } = received
            await fsp.rename(partial, dataPath(id, format))
            const now = Date.now()
            const info: UploadInfo = {
              id,
              serviceId,
              format,
              bytes: received.bytes,
              entries: received.entries,
              unpackedBytes: received.unpackedBytes,
              createdAt: new Date(now).toISOString(),
              expiresAt: new Date(now + options.ttlMinutes * 60_000).toISOString()
            }
            await fsp.writeFile(infoPath(id), JSON.stringify(info), { mode: 0o600 })
            return info
          },
          catch: (e) => e instanceof UploadRejected ? e : new UploadStorageError({ message: "cannot store the upload", cause: e })
        }).pipe(Effect.tapError(() => Effect.promise(() => fsp.rm(partial, { force: true }))))
        return result
      })

    const get = (serviceId: string, uploadId: string) =>
      Effect.gen(function*() {
        if (!UUID.test(uploadId)) return yield* new UploadNotFound({ uploadId })
        const text = yield* Effect.promise(() => fsp.readFile(infoPath(uploadId), "utf8").catch(() => ""))
        const info = decodeInfo(text)
        if (Option.isNone(info) || info.value.serviceId !== serviceId || Date.parse(info.value.expiresAt) <= Date.now()) {
          return yield* new UploadNotFound({ uploadId })
        }
        return info.value
      })

    const list = (serviceId: string) =>
      Effect.promise(async () => {
        const names = await fsp.readdir(dir).catch((): Array<string> => [])
        const now = Date.now()
        const out: Array<UploadInfo> = []
        for (const name of names) {
          if (!name.endsWith(".json") || !UUID.test(name.slice(0, -".json".length))) continue
          const info = decodeInfo(await fsp.readFile(path.join(dir, name), "utf8").catch(() => ""))
          if (Option.isSome(info) && info.value.serviceId === serviceId && Date.parse(info.value.expiresAt) > now) out.push(info.value)
        }
        // ids are UUIDv7: their order is the order they were stored in
        return out.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      })

    const unpack = (serviceId: string, uploadId: string, dest: string) =>
      Effect.gen(function*() {
        const info = yield* get(serviceId, uploadId)
        yield* Effect.tryPromise({
          try: () => unpackArchive(dataPath(info.id, info.format), info.format, options.caps, dest, options.tarPipeHelper),
          catch: (e) => e instanceof UploadRejected ? e : new UploadStorageError({ message: "cannot unpack the upload", cause: e })
        })
      })

    const withContext = <A, E, R>(serviceId: string, uploadId: string, use: (dir: string) => Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        Effect.tryPromise({
          try: async () => {
            await fsp.mkdir(options.contextsDir, { recursive: true, mode: 0o700 })
            return fsp.mkdtemp(path.join(options.contextsDir, "ctx-"))
          },
          catch: storage("cannot create a build context directory")
        }),
        (dir) => Effect.zipRight(unpack(serviceId, uploadId, path.join(dir, "context")), use(path.join(dir, "context"))),
        (dir) => Effect.promise(() => fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined))
      )

    const sweep = Effect.promise(async () => {
      const names = await fsp.readdir(dir).catch((): Array<string> => [])
      const now = Date.now()
      const ttlMs = options.ttlMinutes * 60_000
      const expiredIds = new Set<string>()
      const withInfo = new Set<string>()
      for (const name of names.filter((n) => n.endsWith(".json"))) {
        const id = name.slice(0, -".json".length)
        withInfo.add(id)
        const info = decodeInfo(await fsp.readFile(path.join(dir, name), "utf8").catch(() => ""))
        if (Option.isNone(info) || Date.parse(info.value.expiresAt) <= now) expiredIds.add(id)
      }
      let removed = 0
      for (const name of names) {
        const id = name.split(".")[0] ?? ""
        const file = path.join(dir, name)
        // files without metadata: partials of a receive in progress, or leftovers of a crash
        const orphanStale = !withInfo.has(id) &&
          await fsp.stat(file).then((st) => now - st.mtimeMs > ttlMs, () => false)
        if (expiredIds.has(id) || orphanStale) {
          await fsp.rm(file, { force: true })
          removed++
        }
      }
      return removed
    })

    return { receive, get, list, unpack, withContext, sweep } satisfies UploadsApi
  })

export class Uploads extends Context.Tag("denia/builder/Uploads")<Uploads, UploadsApi>() {
  /** The store plus its expiry sweep (every minute, for the daemon's lifetime). */
  static readonly layer = (options: UploadsOptions) =>
    Layer.scoped(
      Uploads,
      Effect.gen(function*() {
        const uploads = yield* makeUploads(options)
        yield* periodic({ name: "upload expiry", every: Duration.minutes(1), immediate: true, task: Effect.asVoid(uploads.sweep) })
        return uploads
      })
    )
}
