import { Context, type Effect, Layer, type Option, type Scope } from "effect"
import type { BuiltLayerTree } from "./adopt.js"
import type { RegistryCredentials } from "./auth.js"
import type { CacheStatus, GcReport, VerifyOnHit } from "./cache.js"
import type { LayerTreesRefused, OciError, OciStorageError } from "./errors.js"
import type { ImageManifest } from "./manifest.js"
import type { PinnedImages } from "./PinnedImages.js"
import type { ProcessManifest } from "./processManifest.js"
import { makeOciService } from "./service.js"

/** Plain options; the daemon maps its config onto these. */
export interface OciOptions {
  readonly dataDir: string
  readonly usernsBase: number
  readonly usernsSize: number
  /** `host:port` entries reachable over plain HTTP and at internal addresses. */
  readonly insecureRegistries: ReadonlyArray<string>
  /** `host:port` of the node's own hosted registry (treated like an insecure registry). */
  readonly hostedRegistry?: string
  readonly cacheVerifyOnHit: VerifyOnHit
  readonly cacheRetentionDays: number
  /** GC loop period; 0 disables the loop (manual GC still works). */
  readonly cacheGcIntervalHours: number
  readonly maxUnpackedMb: number
  /** Entry cap per image (default 500 000). */
  readonly maxEntries?: number
  /** Parallel blob downloads per pull (default 3). */
  readonly downloadConcurrency?: number
  /** Shift ownership by usernsBase; default: when running as root. */
  readonly shiftOwnership?: boolean
  /** Platform to select from indexes; default linux/<host arch>. */
  readonly platform?: { readonly os: string; readonly architecture: string; readonly variant?: string }
  /**
   * A pull keeps the unpacked tree below its top layer for reuse (chains.ts) when the highest layer below
   * the top it would skip is at least this big, compressed (default 1 MiB; tests: 0).
   */
  readonly chainSnapshotMinBytes?: number
  /**
   * Make a build's bundle from its own layer trees (`adoptBuilt`, ADR 0822): only where replicas' roots
   * can be mounted idmapped (the daemon probes it) and ownership is shifted at all. Default false.
   */
  readonly adoptBuiltTrees?: boolean
  /** The runtime helper (`denia-init`), whose `overlay-marks` the adoption reads layer trees with. */
  readonly helperPath?: string
  /** Transport retry tuning (tests). */
  readonly maxAttempts?: number
  readonly backoffMs?: number
}

export interface PullProgress {
  readonly reference: string
  readonly phase: "resolving" | "downloading" | "unpacking" | "finalizing" | "done"
  readonly layersTotal: number
  readonly layersDownloaded: number
  /** Layers unpacked into the rootfs. */
  readonly layersDone: number
  /** Layers not unpacked (nor downloaded) because an earlier pull's tree of them was reused. */
  readonly layersReused?: number
  /** Compressed bytes of config + layers. */
  readonly bytesTotal: number
  readonly bytesDone: number
}

export interface PulledImage {
  /** Canonical reference as pulled (`docker.io/library/nginx:latest`). */
  readonly reference: string
  /** Digest of the platform image manifest; names the bundle. */
  readonly digest: string
  readonly bundleDir: string
  readonly rootfs: string
  readonly manifest: ProcessManifest
  /** True when the bundle already existed and nothing was unpacked. */
  readonly reused: boolean
}

export interface ResolvedImage {
  readonly reference: string
  readonly digest: string
  /** Digest of the index the manifest was selected from, if any. */
  readonly indexDigest: string | undefined
  readonly platform: string
  readonly manifest: ImageManifest
}

export interface PrewarmResult {
  /** Layers of the image, all of them now in one chain snapshot. */
  readonly layers: number
  /** The snapshot existed already: nothing was downloaded or unpacked. */
  readonly alreadyUnpacked: boolean
  /** The layer digests of the snapshot, bottom first (for `prepareSpare`). */
  readonly digests: ReadonlyArray<string>
}

export interface OciServiceApi {
  /** Resolves, downloads (via the layer cache), verifies and unpacks an image into its content-addressed bundle. */
  readonly pull: (
    reference: string,
    credentials: RegistryCredentials,
    onProgress?: (p: PullProgress) => void
  ) => Effect.Effect<PulledImage, OciError>
  /**
   * Unpacks an image's layers into a chain snapshot of all of them (prewarm.ts), no bundle: what a build's
   * base is pulled with while the build runs, so the pull of the built image applies only its own layers.
   */
  readonly prewarm: (
    reference: string,
    credentials: RegistryCredentials,
    onProgress?: (p: PullProgress) => void
  ) => Effect.Effect<PrewarmResult, OciError>
  /**
   * Clones the chain snapshot of exactly `layers` into a spare for the next pull that starts from it
   * (chainSpares.ts), the clone at nice `nice`; the spare is removed when the scope closes unless a pull
   * took it. False when there is no such snapshot or a spare of it exists already.
   */
  readonly prepareSpare: (layers: ReadonlyArray<string>, nice: number) => Effect.Effect<boolean, never, Scope.Scope>
  /** Whether `adoptBuilt` may be used on this node (OciOptions `adoptBuiltTrees`). */
  readonly adoptsBuiltTrees: boolean
  /**
   * Makes the bundle of `reference` (by digest, the build's push) from the build's layer trees by hard
   * links, the image's owners kept (adopt.ts); the existing bundle when there is one.
   */
  readonly adoptBuilt: (
    reference: string,
    credentials: RegistryCredentials,
    trees: ReadonlyArray<BuiltLayerTree>
  ) => Effect.Effect<PulledImage, OciError | LayerTreesRefused>
  /** Resolves a reference to its platform manifest digest without downloading layers. */
  readonly resolve: (reference: string, credentials: RegistryCredentials) => Effect.Effect<ResolvedImage, OciError>
  /** An already-unpacked bundle by manifest digest. */
  readonly lookup: (digest: string) => Effect.Effect<Option.Option<PulledImage>>
  readonly cacheStatus: Effect.Effect<CacheStatus, OciStorageError>
  /** Runs layer-cache GC now (shares a run already in progress); keeps what `PinnedImages` returns. */
  readonly gc: Effect.Effect<GcReport, OciStorageError>
}

export class OciService extends Context.Tag("denia/oci/OciService")<OciService, OciServiceApi>() {
  /** Production layer; the GC loop and the HTTP agent live in the layer's scope. */
  static readonly layer = (options: OciOptions): Layer.Layer<OciService, OciStorageError, PinnedImages> =>
    Layer.scoped(OciService, makeOciService(options))
}
