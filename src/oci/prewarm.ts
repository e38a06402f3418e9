/**
 * Pre-warming a base image (ADR 0805): the image's layers are applied, the same way a pull applies them
 * (applyLayers.ts: blob cache, download concurrency, unpack limits, a lower snapshot reused), straight
 * into a temp directory of the chain snapshot area, which then becomes the snapshot of *all* its layers
 * — no bundle, no copy. The next pull of an image built `FROM` it finds those layers as its longest
 * snapshotted prefix and applies only the layers above.
 */
import { Deferred, Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { PrewarmResult, PullProgress, ResolvedImage } from "./api.js"
import { applyLayers, type LayerContext } from "./applyLayers.js"
import type { RegistryCredentials } from "./auth.js"
import type { LayerCache } from "./cache.js"
import type { ChainSnapshots } from "./chains.js"
import { storage } from "./effectful.js"
import type { OciError } from "./errors.js"
import type { ImageReference } from "./reference.js"

export interface PrewarmDeps {
  readonly cache: LayerCache
  readonly chains: ChainSnapshots
  readonly resolve: (ref: ImageReference, credentials: RegistryCredentials) => Effect.Effect<ResolvedImage, OciError>
  /** Everything of the layer context but what depends on the image. */
  readonly layerContext: (
    ref: ImageReference,
    credentials: RegistryCredentials,
    resolved: ResolvedImage,
    emit: (p: Partial<PullProgress>) => void
  ) => Omit<LayerContext, "rootfs" | "snapshotMinBytes">
}

export const makePrewarm = (deps: PrewarmDeps) => {
  const { cache, chains } = deps
  /** One prewarm per layer chain at a time; a second caller waits for the first. */
  const flights = new Map<string, Deferred.Deferred<PrewarmResult, OciError>>()

  const unpackChain = (
    ref: ImageReference,
    credentials: RegistryCredentials,
    resolved: ResolvedImage,
    emit: (p: Partial<PullProgress>) => void
  ) =>
    Effect.scoped(
      Effect.gen(function*() {
        const layers = resolved.manifest.layers
        const digests = layers.map((l) => l.digest)
        for (const d of layers) {
          yield* Effect.acquireRelease(Effect.sync(() => cache.reserve(d.digest)), (release) => Effect.sync(release))
        }
        const tmp = yield* Effect.acquireRelease(
          storage("create chain snapshot", chains.dir, () => chains.tempDir()),
          (dir) => Effect.tryPromise(() => fs.rm(dir, { recursive: true, force: true })).pipe(Effect.ignore)
        )
        const rootfs = path.join(tmp, "rootfs")
        yield* storage("create rootfs", rootfs, () => fs.mkdir(rootfs, { mode: 0o700 }))
        emit({ phase: "downloading" })
        // no intermediate snapshot: the one kept is the complete tree
        const unpacker = yield* applyLayers({
          ...deps.layerContext(ref, credentials, resolved, emit),
          rootfs,
          snapshotMinBytes: Number.POSITIVE_INFINITY
        })
        emit({ phase: "finalizing" })
        yield* storage("publish chain snapshot", chains.dir, () => chains.publish(digests, tmp, unpacker.state()))
        emit({ phase: "done" })
        return { layers: digests.length, alreadyUnpacked: false, digests } satisfies PrewarmResult
      })
    )

  return (ref: ImageReference, credentials: RegistryCredentials, onProgress?: (p: PullProgress) => void) =>
    Effect.gen(function*() {
      const resolved = yield* deps.resolve(ref, credentials)
      const layers = resolved.manifest.layers
      let progress: PullProgress = {
        reference: resolved.reference,
        phase: "resolving",
        layersTotal: layers.length,
        layersDownloaded: 0,
        layersDone: 0,
        bytesTotal: layers.reduce((a, l) => a + l.size, 0),
        bytesDone: 0
      }
      const emit = (p: Partial<PullProgress>) => {
        progress = { ...progress, ...p }
        if (onProgress) onProgress(progress)
      }
      const digests = layers.map((l) => l.digest)
      if (digests.length === 0) return { layers: 0, alreadyUnpacked: true, digests } satisfies PrewarmResult
      if (yield* Effect.promise(() => chains.has(digests).catch(() => false))) {
        yield* Effect.forEach(layers, (d) => Effect.tryPromise(() => cache.touchIfPresent(d.digest)).pipe(Effect.ignore))
        return { layers: digests.length, alreadyUnpacked: true, digests } satisfies PrewarmResult
      }
      const key = chains.key(digests)
      const running = flights.get(key)
      if (running !== undefined) return yield* Deferred.await(running)
      const d = yield* Deferred.make<PrewarmResult, OciError>()
      flights.set(key, d)
      return yield* unpackChain(ref, credentials, resolved, emit).pipe(
        Effect.onExit((exit) => Deferred.done(d, exit).pipe(Effect.zipRight(Effect.sync(() => flights.delete(key)))))
      )
    })
}
