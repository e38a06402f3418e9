/**
 * The layer part of a pull (ADR 0301, 0805): the longest prefix of the image's layers already unpacked
 * by an earlier pull is cloned from its chain snapshot (chains.ts); a cold first layer is unpacked while
 * it downloads (streamedLayer.ts); the other layers download in parallel through the cache and are
 * applied strictly in order as each lands; one chain snapshot is kept for the next pull.
 */
import { Deferred, Effect } from "effect"
import * as fs from "node:fs/promises"
import type { PullProgress } from "./api.js"
import type { RegistryCredentials } from "./auth.js"
import type { LayerCache } from "./cache.js"
import { type ChainSnapshots, cloneTreeOffLoop } from "./chains.js"
import type { ChainSpares } from "./chainSpares.js"
import type { RegistryClient } from "./client.js"
import { dataPath, storage } from "./effectful.js"
import { type OciError, OciStorageError } from "./errors.js"
import type { Descriptor } from "./manifest.js"
import type { ImageReference } from "./reference.js"
import { unpackWhileDownloading } from "./streamedLayer.js"
import { isRetryableError, toOciError } from "./transport.js"
import type { UnpackOptions } from "./unpack.js"
import { scopedUnpacker, UnpackWorkerStopped } from "./unpackWorkerPool.js"

export interface LayerContext {
  readonly ref: ImageReference
  readonly credentials: RegistryCredentials
  readonly layers: ReadonlyArray<Descriptor>
  /** The bundle's (empty, private) rootfs directory. */
  readonly rootfs: string
  readonly unpack: UnpackOptions
  readonly cache: LayerCache
  readonly client: RegistryClient
  readonly chains: ChainSnapshots
  /** Spare clones of snapshots made beside a build (chainSpares.ts): moved in instead of cloned. */
  readonly spares?: ChainSpares
  readonly snapshotMinBytes: number
  readonly concurrency: number
  readonly fetchBlob: (d: Descriptor) => Effect.Effect<string, OciError>
  readonly emit: (p: Partial<PullProgress>) => void
  readonly addBytes: (n: number) => void
}

/**
 * Applies every layer onto `rootfs`; returns the unpacker (its `finish` is still to run). Needs the pull's
 * scope: the unpacker (its worker thread, unpackWorkerPool.ts) lives until the scope closes, and is
 * terminated then unless the pull succeeded.
 */
export const applyLayers = (c: LayerContext) =>
  Effect.gen(function*() {
    const { addBytes, cache, chains, client, concurrency, credentials, emit, layers, ref, rootfs, snapshotMinBytes } = c
    const { maxBytes, maxEntries } = c.unpack

    const unpacker = yield* scopedUnpacker(rootfs, c.unpack)
    const digests = layers.map((l) => l.digest)
    // the longest prefix of layers already unpacked by an earlier pull (chains.ts): cloned, not unpacked
    const snapshot = yield* Effect.promise(() => chains.longest(digests).catch(() => undefined))
    let from = 0
    if (snapshot !== undefined && snapshot.state.bytes <= maxBytes && snapshot.state.entries <= maxEntries) {
      // a spare clone made while the image was built, else a clone in a child process (chains.ts): the
      // daemon's event loop keeps serving meanwhile
      const cloned = yield* Effect.promise(async (signal) => {
        try {
          if (await c.spares?.moveInto(digests.slice(0, snapshot.layers), rootfs, signal)) return true
          await cloneTreeOffLoop(snapshot.rootfs, rootfs, signal)
          return true
        } catch {
          // removed under us (GC) or unreadable: unpack every layer instead
          await fs.rm(rootfs, { recursive: true, force: true })
          await fs.mkdir(rootfs, { mode: 0o700 })
          return false
        }
      })
      if (cloned) {
        yield* dataPath(
          () => unpacker.adopt(snapshot.state),
          (e) => new OciStorageError({ operation: "adopt chain snapshot", path: rootfs, reason: String(e), cause: e })
        )
        from = snapshot.layers
        addBytes(layers.slice(0, from).reduce((a, l) => a + l.size, 0))
        emit({ layersReused: from, layersDownloaded: from, layersDone: from })
        yield* Effect.forEach(
          layers.slice(0, from),
          (d) => Effect.tryPromise(() => cache.touchIfPresent(d.digest)).pipe(Effect.ignore)
        )
      }
    }
    // one snapshot per pull: after the highest layer below the top that is worth skipping next time
    let saveAfter = -1
    for (let i = from; i < layers.length - 1; i++) if ((layers[i]?.size ?? 0) >= snapshotMinBytes) saveAfter = i

    // a cold first layer is unpacked while it downloads (streamedLayer.ts); the others as they land
    const first = layers[from]
    const streamFirst = from === 0 && first !== undefined &&
      !(yield* Effect.promise(() => fs.lstat(cache.blobPath(first.digest)).then((st) => st.isFile(), () => false)))
    const forked = from + (streamFirst ? 1 : 0)
    const streamLayer = (layer: Descriptor, label: string) =>
      dataPath(async () => {
        const download = (onChunk?: (chunk: Buffer) => Promise<void>) =>
          cache.ensure(layer.digest, layer.size, (tmp) => client.downloadBlob(ref, layer, credentials, tmp, addBytes, onChunk))
        try {
          const r = await unpackWhileDownloading(unpacker, label, download)
          if (r.streamed) return
          addBytes(layer.size)
          await unpacker.applyLayerFile(label, r.path)
        } catch (e) {
          if (!isRetryableError(e)) throw e
          // the body broke off midway: this layer again from an empty tree, the ordinary way (with retries)
          await fs.rm(rootfs, { recursive: true, force: true })
          await fs.mkdir(rootfs, { mode: 0o700 })
          await unpacker.restart()
          const entry = await download()
          if (entry.hit) addBytes(layer.size)
          await unpacker.applyLayerFile(label, entry.path)
        }
      }, (e) =>
        // a file-system call of the unpacker failed (it names its syscall) or its worker stopped; else the download did
        (e instanceof Error && "syscall" in e && !isRetryableError(e)) || e instanceof UnpackWorkerStopped
          ? new OciStorageError({ operation: `unpack layer ${label}`, path: rootfs, reason: String(e), cause: e })
          : toOciError(e, ref.registry))

    const ready = yield* Effect.forEach(layers, () => Deferred.make<string, OciError>())
    let downloaded = from
    yield* Effect.forkScoped(
      Effect.forEach(
        layers.slice(forked),
        (layer, j) =>
          c.fetchBlob(layer).pipe(
            Effect.tap(() => Effect.sync(() => emit({ layersDownloaded: ++downloaded }))),
            Effect.exit,
            Effect.flatMap((exit) => {
              const d = ready[forked + j]
              return d === undefined ? Effect.void : Deferred.done(d, exit)
            })
          ),
        { concurrency, discard: true }
      )
    )
    for (let i = from; i < layers.length; i++) {
      const layer = layers[i]
      const d = ready[i]
      if (layer === undefined || d === undefined) continue
      const label = `${i + 1}/${layers.length} ${layer.digest}`
      if (i < forked) {
        emit({ phase: "unpacking" })
        yield* streamLayer(layer, label)
        emit({ layersDownloaded: ++downloaded })
      } else {
        const file = yield* Deferred.await(d)
        emit({ phase: "unpacking" })
        yield* dataPath(
          () => unpacker.applyLayerFile(label, file),
          (e) => new OciStorageError({ operation: `unpack layer ${label}`, path: rootfs, reason: String(e), cause: e })
        )
      }
      for (const s of unpacker.skipped.splice(0)) yield* Effect.logWarning(`oci unpack: ${s}`)
      emit({ layersDone: i + 1 })
      if (i === saveAfter) {
        yield* storage("save chain snapshot", chains.dir, () => chains.save(digests.slice(0, i + 1), rootfs, unpacker.state())).pipe(
          Effect.catchAll((e) => Effect.logWarning(`oci: cannot keep the unpacked layers for reuse: ${e.reason}`))
        )
      }
    }
    return unpacker
  })
