/**
 * A bundle made from a build's own layer trees (ADR 0822), for the digest the build pushed: the
 * manifest and config are read from the registry as a pull reads them (same credentials, same checks),
 * the config's `rootfs.diff_ids` must be exactly the trees' recorded digests, and the rootfs is the
 * trees merged by hard links (mergeTrees.ts), the image's owners kept — the bundle says so
 * (`rootfsOwners: "image"`), and the runtime mounts it idmapped. Published like a pulled bundle, so that
 * the deploy's pull of the digest finds it. Nothing here writes a layer blob to the cache.
 */
import { Effect, Option, Schema } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { PulledImage, ResolvedImage } from "./api.js"
import type { RegistryCredentials } from "./auth.js"
import { dataPath, storage } from "./effectful.js"
import { LayerTreesRefused, type OciError, OciStorageError } from "./errors.js"
import type { ImageConfig } from "./manifest.js"
import { mergeLayerTrees, MergeRefused } from "./mergeTrees.js"
import { buildProcessManifest, ProcessManifest } from "./processManifest.js"
import { publishBundle } from "./publishBundle.js"
import type { ImageReference } from "./reference.js"
import { parseReference } from "./reference.js"

export interface BuiltLayerTree {
  readonly diffId: string
  readonly dir: string
  readonly size: number
}

export interface AdoptDeps {
  readonly artifactsDir: string
  readonly helperPath: string
  readonly usernsSize: number
  readonly maxBytes: number
  readonly maxEntries: number
  readonly resolve: (ref: ImageReference, credentials: RegistryCredentials) => Effect.Effect<ResolvedImage, OciError>
  readonly readConfig: (
    ref: ImageReference,
    credentials: RegistryCredentials,
    resolved: ResolvedImage
  ) => Effect.Effect<ImageConfig, OciError>
  readonly readBundle: (digest: string) => Effect.Effect<Option.Option<PulledImage>>
}

const refused = (reason: string, cause?: unknown) => new LayerTreesRefused({ reason, ...(cause === undefined ? {} : { cause }) })

const hexOf = (digest: string) => digest.replace(/^sha256:/, "")

export const makeAdoptBuilt = (deps: AdoptDeps) =>
(
  reference: string,
  credentials: RegistryCredentials,
  trees: ReadonlyArray<BuiltLayerTree>
): Effect.Effect<PulledImage, OciError | LayerTreesRefused> =>
  Effect.gen(function*() {
    const ref = yield* parseReference(reference)
    if (ref.digest === undefined) return yield* refused(`${reference} does not name a digest`)
    const resolved = yield* deps.resolve(ref, credentials)
    if (resolved.digest !== ref.digest) return yield* refused(`${reference} resolved to ${resolved.digest}`)
    const existing = yield* deps.readBundle(resolved.digest)
    if (Option.isSome(existing)) return existing.value
    const config = yield* deps.readConfig(ref, credentials, resolved)
    const diffIds = config.rootfs?.diff_ids ?? []
    if (diffIds.length !== trees.length || diffIds.some((d, i) => d !== trees[i]?.diffId)) {
      return yield* refused(`the build storage's layers do not match the pushed image's diff_ids`)
    }
    const layers = resolved.manifest.layers
    if (layers.length !== trees.length) return yield* refused(`the manifest has ${layers.length} layers, the build ${trees.length}`)
    const bytes = trees.reduce((n, t) => n + t.size, 0)
    if (bytes > deps.maxBytes) return yield* refused(`the image unpacks to ${bytes} bytes, over oci_max_unpacked_mb`)
    return yield* Effect.scoped(Effect.gen(function*() {
      const tmp = yield* Effect.acquireRelease(
        storage("create bundle", deps.artifactsDir, () =>
          fs.mkdtemp(path.join(deps.artifactsDir, `.tmp-${hexOf(resolved.digest).slice(0, 12)}-`))),
        (dir) =>
          Effect.promise(() =>
            fs.rm(dir, { recursive: true, force: true }).catch(() => undefined)
          )
      )
      const rootfs = path.join(tmp, "rootfs")
      yield* storage("create rootfs", rootfs, () => fs.mkdir(rootfs, { mode: 0o700 }))
      yield* Effect.tryPromise({
        try: () => mergeLayerTrees(trees.map((t) => t.dir), rootfs, { maxEntries: deps.maxEntries }, { helperPath: deps.helperPath }),
        catch: (e) => refused(e instanceof MergeRefused ? e.message : `merging the layer trees failed: ${String(e)}`, e)
      })
      const manifest = yield* dataPath(
        () =>
          buildProcessManifest({
            reference: resolved.reference,
            manifestDigest: resolved.digest,
            configDigest: resolved.manifest.config.digest,
            layers: layers.map((l) => l.digest),
            platform: resolved.platform,
            config,
            rootfs,
            usernsSize: deps.usernsSize,
            now: new Date()
          }),
        (e) => new OciStorageError({ operation: "build process manifest", path: rootfs, reason: String(e), cause: e })
      )
      const adopted = new ProcessManifest({ ...manifest, rootfsOwners: "image" })
      const encoded = yield* Schema.encode(ProcessManifest)(adopted).pipe(Effect.orDie)
      const bundleDir = path.join(deps.artifactsDir, hexOf(resolved.digest))
      const published = yield* storage("publish bundle", bundleDir, () => publishBundle(tmp, bundleDir, encoded))
      if (!published) {
        const other = yield* deps.readBundle(resolved.digest)
        if (Option.isSome(other)) return other.value
      }
      return {
        reference: resolved.reference,
        digest: resolved.digest,
        bundleDir,
        rootfs: path.join(bundleDir, "rootfs"),
        manifest: adopted,
        reused: false
      } satisfies PulledImage
    }))
  })
