/**
 * Service volumes (SPEC §12b, ADR 0901): directories under
 * `<data_dir>/volumes/<project id>/<service>/<name>/` that replicas mount.
 * A volume is created on first mount (the image's files at the mount path
 * copied in, or an empty directory owned by the image's user, ids shifted
 * into the user-namespace range), counted while replicas hold it, and
 * refused to removal and restore while held. Backups stream a tar (ids
 * shifted back), restores unpack beside the volume and swap it in.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import { IncomingMessage } from "node:http"
import type { Socket } from "node:net"
import * as path from "node:path"
import type { Readable } from "node:stream"
import { NotFound } from "../domain/errors.js"
import type { Volume } from "../domain/service.js"
import { helperHasMode } from "../platform/archive/helperModes.js"
import { makeKeyedMutex } from "../platform/keyedMutex.js"
import type { BindMount } from "../runtime/types.js"
import { ArchiveTooLarge, HostileArchive, VolumeInUse, VolumeIoError } from "./errors.js"
import { type IdShift, type PackedTar, packVolume } from "./pack.js"
import { serviceDirOf, type ServiceVolumesRef, volumeName } from "./paths.js"
import { ensureVolume, type ImageView, removeVolume, restoreVolume, volumeExists, volumesOnDisk } from "./store.js"
import { makeUsageCache } from "./usage.js"

export type { ServiceVolumesRef } from "./paths.js"
export type { ImageView } from "./store.js"

export interface VolumesOptions {
  readonly dataDir: string
  readonly usernsBase: number
  readonly usernsSize: number
  /** Cap on a restore's request body (bytes, as sent: compressed or not). */
  readonly maxArchiveBytes: number
  /** Cap on the unpacked file bytes of a restore. */
  readonly maxUnpackedBytes: number
  /** Cap on the entries of a restore. */
  readonly maxArchiveEntries: number
  /** Shift ownership into the user-namespace range (default: when running as root). */
  readonly shiftIds?: boolean
  /** The `denia-init` helper: restores move file data through its tar pipe (ADR 0902). */
  readonly tarPipeHelper?: string
}

export interface VolumeInfo {
  readonly name: string
  /** Null for a volume on disk that the service no longer declares. */
  readonly mountPath: string | null
  readonly readOnly: boolean
  /** Bytes used (null when not yet created or not measurable in time). */
  readonly bytes: number | null
  readonly created: boolean
  readonly mounted: boolean
}

export type Snapshot = "live" | "stopped"

export interface OpenedArchive {
  readonly snapshot: Snapshot
  /** Bytes the volume uses (an estimate of the archive's size; null when unknown). */
  readonly bytes: number | null
  /**
   * Starts the producers (once). With `sink` (a socket with a file descriptor, the HTTP response head
   * already on it) the archive is written straight into it and `stream` only ends or fails with them
   * (ADR 0903); without, `stream` carries the archive.
   */
  readonly start: (sink?: Socket) => Effect.Effect<{ readonly stream: Readable; readonly direct: boolean }, VolumeIoError>
  /** Ends the backup (idempotent): stops the producer, releases the volume. */
  readonly close: Effect.Effect<void>
}

export interface VolumesApi {
  /** Creates (first use) and holds the service's volumes for a replica's scope; the mounts to pass to the runtime. */
  readonly attach: (
    ref: ServiceVolumesRef,
    volumes: ReadonlyArray<Volume>,
    image: ImageView
  ) => Effect.Effect<
    ReadonlyArray<BindMount & { readonly origin: string; readonly name: string }>,
    VolumeInUse | VolumeIoError,
    Scope.Scope
  >
  readonly list: (ref: ServiceVolumesRef, declared: ReadonlyArray<Volume>) => Effect.Effect<ReadonlyArray<VolumeInfo>, VolumeIoError>
  readonly remove: (ref: ServiceVolumesRef, name: string) => Effect.Effect<void, NotFound | VolumeInUse | VolumeIoError>
  /** Removes every volume of the service (delete with `purgeVolumes`). */
  readonly purge: (ref: ServiceVolumesRef) => Effect.Effect<void, VolumeInUse | VolumeIoError>
  readonly openArchive: (
    ref: ServiceVolumesRef,
    name: string,
    compress: "none" | "zstd"
  ) => Effect.Effect<OpenedArchive, NotFound | VolumeInUse | VolumeIoError>
  readonly restore: (
    ref: ServiceVolumesRef,
    name: string,
    body: Readable
  ) => Effect.Effect<{ readonly entries: number }, NotFound | HostileArchive | ArchiveTooLarge | VolumeInUse | VolumeIoError>
}

interface Hold {
  mounts: number
  backups: number
  restoring: boolean
}

const io = (operation: string) => (cause: unknown) => new VolumeIoError({ operation, cause })

const make = (options: VolumesOptions) =>
  Effect.gen(function*() {
    // The runtime refuses symlinks in mount sources: work below the data dir's real path.
    const dataDir = yield* Effect.try(() => fsSync.realpathSync(options.dataDir)).pipe(Effect.orElseSucceed(() => options.dataDir))
    const root = path.join(dataDir, "volumes")
    const shiftIds = options.shiftIds ?? process.getuid?.() === 0
    const shift: IdShift | undefined = shiftIds ? { base: options.usernsBase, size: options.usernsSize } : undefined
    const mutex = yield* makeKeyedMutex<string>()
    const holds = new Map<string, Hold>()
    const usage = makeUsageCache()

    const keyOf = (ref: ServiceVolumesRef, name: string) => `${ref.projectId}/${ref.serviceName}/${name}`
    const holdOf = (key: string): Hold => {
      let h = holds.get(key)
      if (h === undefined) {
        h = { mounts: 0, backups: 0, restoring: false }
        holds.set(key, h)
      }
      return h
    }
    const dropIfIdle = (key: string) => {
      const h = holds.get(key)
      if (h !== undefined && h.mounts === 0 && h.backups === 0 && !h.restoring) holds.delete(key)
    }
    const serviceDir = (ref: ServiceVolumesRef) => Effect.try({ try: () => serviceDirOf(root, ref), catch: io("path") })
    const checkName = (name: string) =>
      Effect.try({ try: () => volumeName(name), catch: () => new NotFound({ entity: "volume", id: name }) })

    const attachOne = (ref: ServiceVolumesRef, v: Volume, image: ImageView) =>
      Effect.acquireRelease(
        mutex.withLock(keyOf(ref, v.name))(Effect.gen(function*() {
          const key = keyOf(ref, v.name)
          const h = holdOf(key)
          if (h.restoring) return yield* new VolumeInUse({ message: `volume ${v.name} is being restored; deploy again when it finishes` })
          if (h.backups > 0 && h.mounts === 0) {
            return yield* new VolumeInUse({ message: `volume ${v.name} is being backed up; deploy again when the backup finishes` })
          }
          const dir = yield* serviceDir(ref)
          const created = yield* Effect.tryPromise({
            try: () => ensureVolume(root, dir, v.name, v.mountPath, image, shift),
            catch: io(`create ${v.name}`)
          }).pipe(
            Effect.tapError((e) => Effect.logWarning(`volume ${v.name}: cannot prepare`, e.cause)),
            Effect.tapError(() => Effect.sync(() => dropIfIdle(key)))
          )
          h.mounts++
          return { source: created.path, target: v.mountPath, readOnly: v.readOnly, origin: created.origin, name: v.name }
        })),
        () =>
          Effect.sync(() => {
            const key = keyOf(ref, v.name)
            const h = holdOf(key)
            h.mounts = Math.max(0, h.mounts - 1)
            dropIfIdle(key)
          })
      )

    const attach: VolumesApi["attach"] = (ref, volumes, image) => Effect.forEach(volumes, (v) => attachOne(ref, v, image))

    const list: VolumesApi["list"] = (ref, declared) =>
      Effect.gen(function*() {
        const dir = yield* serviceDir(ref)
        const onDisk = yield* Effect.tryPromise({ try: () => volumesOnDisk(dir), catch: io("list") })
        const extra = onDisk.filter((n) => !declared.some((v) => v.name === n))
        const rows = [
          ...declared.map((v) => ({ name: v.name, mountPath: v.mountPath as string | null, readOnly: v.readOnly })),
          ...extra.map((name) => ({ name, mountPath: null, readOnly: false }))
        ]
        return yield* Effect.forEach(rows, (row) =>
          Effect.gen(function*() {
            const created = onDisk.includes(row.name)
            const bytes = created ? yield* Effect.promise(() => usage.bytes(path.join(dir, row.name))) : null
            const h = holds.get(keyOf(ref, row.name))
            return { ...row, bytes, created, mounted: (h?.mounts ?? 0) > 0 } satisfies VolumeInfo
          }), { concurrency: 4 })
      })

    /** Runs `f` under the volume's lock once nothing holds it; `what` says what was refused. */
    const whenIdle = <A, E>(ref: ServiceVolumesRef, name: string, what: string, f: (h: Hold) => Effect.Effect<A, E>) =>
      mutex.withLock(keyOf(ref, name))(Effect.gen(function*() {
        const h = holdOf(keyOf(ref, name))
        if (h.mounts > 0) {
          dropIfIdle(keyOf(ref, name))
          return yield* new VolumeInUse({ message: `volume ${name} is mounted by a running replica; stop the service before you ${what}` })
        }
        if (h.restoring || h.backups > 0) {
          return yield* new VolumeInUse({
            message: `volume ${name} is busy with a ${h.restoring ? "restore" : "backup"}; try again when it finishes`
          })
        }
        return yield* f(h).pipe(Effect.ensuring(Effect.sync(() => dropIfIdle(keyOf(ref, name)))))
      }))

    const remove: VolumesApi["remove"] = (ref, name) =>
      Effect.gen(function*() {
        yield* checkName(name)
        const dir = yield* serviceDir(ref)
        yield* whenIdle(ref, name, "remove it", () =>
          Effect.gen(function*() {
            const exists = yield* Effect.tryPromise({ try: () => volumeExists(dir, name), catch: io("stat") })
            if (!exists) return yield* new NotFound({ entity: "volume", id: name })
            yield* Effect.tryPromise({ try: () => removeVolume(dir, name), catch: io(`remove ${name}`) })
            usage.forget(path.join(dir, name))
          }))
      })

    const purge: VolumesApi["purge"] = (ref) =>
      Effect.gen(function*() {
        const dir = yield* serviceDir(ref)
        const names = yield* Effect.tryPromise({ try: () => volumesOnDisk(dir), catch: io("list") })
        yield* Effect.forEach(
          names,
          (name) =>
            whenIdle(ref, name, "remove it", () => Effect.tryPromise({ try: () => removeVolume(dir, name), catch: io(`remove ${name}`) })),
          { discard: true }
        )
        yield* Effect.tryPromise({
          try: () => fs.rm(dir, { recursive: true, force: true }),
          catch: io("purge")
        })
      })

    const openArchive: VolumesApi["openArchive"] = (ref, name, compress) =>
      Effect.gen(function*() {
        yield* checkName(name)
        const dir = yield* serviceDir(ref)
        const key = keyOf(ref, name)
        const snapshot = yield* mutex.withLock(key)(Effect.gen(function*() {
          const exists = yield* Effect.tryPromise({ try: () => volumeExists(dir, name), catch: io("stat") })
          if (!exists) return yield* new NotFound({ entity: "volume", id: name })
          const h = holdOf(key)
          if (h.restoring) {
            dropIfIdle(key)
            return yield* new VolumeInUse({ message: `volume ${name} is being restored; try again when it finishes` })
          }
          h.backups++
          return h.mounts > 0 ? "live" as const : "stopped" as const
        }))
        let released = false
        const release = Effect.suspend(() => {
          if (released) return Effect.void
          released = true
          return mutex.withLock(key)(Effect.sync(() => {
            const h = holdOf(key)
            h.backups = Math.max(0, h.backups - 1)
            dropIfIdle(key)
          }))
        })
        const volumeDir = path.join(dir, name)
        const bytes = yield* Effect.promise(() => usage.bytes(volumeDir))
        let packed: PackedTar | undefined
        const start = (sink?: Socket) =>
          Effect.tryPromise({
            try: async () => {
              if (packed !== undefined) throw new Error("the backup has already started")
              const helper = options.tarPipeHelper
              // straight into the socket when the helper can splice there (ADR 0903); else through the daemon
              const direct = sink !== undefined && helper !== undefined && await helperHasMode(helper, "send-pipe")
              packed = await packVolume(
                volumeDir,
                compress,
                shift,
                direct ? { socket: sink, helper, idleMs: sink.timeout ?? 0 } : undefined
              )
              return { stream: packed.stream, direct: packed.direct }
            },
            catch: io(`back up ${name}`)
          })
        const close = Effect.sync(() => packed?.stop()).pipe(Effect.zipRight(release))
        return { snapshot, bytes, start, close }
      })

    const restore: VolumesApi["restore"] = (ref, name, body) =>
      Effect.gen(function*() {
        yield* checkName(name)
        // a declared length past the cap is refused before a byte of the body is read
        const declared = body instanceof IncomingMessage ? Number(body.headers["content-length"] ?? Number.NaN) : Number.NaN
        if (Number.isFinite(declared) && declared > options.maxArchiveBytes) {
          return yield* new ArchiveTooLarge({ limit: `request body over ${options.maxArchiveBytes} bytes`, entry: "" })
        }
        const dir = yield* serviceDir(ref)
        const key = keyOf(ref, name)
        yield* whenIdle(ref, name, "restore it", (h) => Effect.sync(() => void (h.restoring = true)))
        const entries = yield* Effect.tryPromise({
          try: () =>
            restoreVolume(root, dir, name, body, options.maxArchiveBytes, {
              maxBytes: options.maxUnpackedBytes,
              maxEntries: options.maxArchiveEntries,
              idShift: shift,
              tarPipeHelper: options.tarPipeHelper
            }),
          catch: (e) => (e instanceof HostileArchive || e instanceof ArchiveTooLarge ? e : io(`restore ${name}`)(e))
        }).pipe(
          Effect.ensuring(
            mutex.withLock(key)(Effect.sync(() => {
              holdOf(key).restoring = false
              dropIfIdle(key)
              usage.forget(path.join(dir, name))
            }))
          )
        )
        return { entries }
      })

    return { attach, list, remove, purge, openArchive, restore } satisfies VolumesApi
  })

export class Volumes extends Context.Tag("denia/volumes/Volumes")<Volumes, VolumesApi>() {
  static readonly layer = (options: VolumesOptions) => Layer.scoped(Volumes, make(options))
}
