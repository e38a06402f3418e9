import { Deferred, Effect, Option, Schema, type Scope } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { intervalOrOff, periodic } from "../platform/periodic.js"
import { makeAdoptBuilt } from "./adopt.js"
import type { OciOptions, OciServiceApi, PulledImage, PullProgress, ResolvedImage } from "./api.js"
import { applyLayers } from "./applyLayers.js"
import { type RegistryCredentials, TokenCache } from "./auth.js"
import { LayerCache } from "./cache.js"
import { ChainSnapshots } from "./chains.js"
import { ChainSpares } from "./chainSpares.js"
import { RegistryClient } from "./client.js"
import { dataPath, storage } from "./effectful.js"
import { DigestMismatch, InvalidImageConfig, NoMatchingPlatform, type OciError, OciStorageError, UnsupportedMediaType } from "./errors.js"
import {
  type Descriptor,
  formatPlatform,
  hostPlatform,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  isIndexMediaType,
  isManifestMediaType,
  layerCompression,
  selectPlatform
} from "./manifest.js"
import { PinnedImages } from "./PinnedImages.js"
import { makePrewarm } from "./prewarm.js"
import { buildProcessManifest, ProcessManifest } from "./processManifest.js"
import { publishBundle } from "./publishBundle.js"
import { formatReference, type ImageReference, parseReference } from "./reference.js"
import { checkHost, isAllowListed, splitHostPort, type SsrfPolicy } from "./ssrf.js"
import { toOciError, Transport } from "./transport.js"

const decodeJson = <A, I>(schema: Schema.Schema<A, I>, bytes: Buffer, what: string, digest: string) =>
  Effect.try({
    try: (): unknown => JSON.parse(bytes.toString("utf8")),
    catch: () => new UnsupportedMediaType({ mediaType: what, reason: `${digest} is not valid JSON` })
  }).pipe(
    Effect.flatMap((u) => Schema.decodeUnknown(schema)(u)),
    Effect.mapError((e) =>
      e._tag === "ParseError" ? new UnsupportedMediaType({ mediaType: what, reason: `${digest}: ${e.message}`, cause: e }) : e
    )
  )

const hexOf = (digest: string) => digest.replace(/^sha256:/, "")
const isDigest = (d: string) => /^sha256:[a-f0-9]{64}$/.test(d)

export const makeOciService = (options: OciOptions): Effect.Effect<OciServiceApi, OciStorageError, Scope.Scope | PinnedImages> =>
  Effect.gen(function*() {
    const pinnedImages = yield* PinnedImages
    const cacheRoot = path.join(options.dataDir, "oci-cache")
    const artifactsDir = path.join(options.dataDir, "artifacts")
    const cache = new LayerCache(cacheRoot, options.cacheVerifyOnHit)
    yield* storage("init cache", cacheRoot, () => cache.init())
    yield* storage("init artifacts", artifactsDir, async () => {
      await fs.mkdir(artifactsDir, { recursive: true, mode: 0o755 })
      // leftovers of pulls interrupted by a crash
      for (const name of await fs.readdir(artifactsDir)) {
        if (name.startsWith(".tmp-")) await fs.rm(path.join(artifactsDir, name), { recursive: true, force: true })
      }
    })
    const shiftOn = options.shiftOwnership ?? (typeof process.getuid === "function" && process.getuid() === 0)
    const chains = new ChainSnapshots(
      path.join(cacheRoot, "chains"),
      shiftOn ? `shift ${options.usernsBase}/${options.usernsSize}` : "no shift"
    )
    yield* storage("init chain snapshots", chains.dir, () => chains.init())
    const spares = new ChainSpares(chains)
    const snapshotMinBytes = options.chainSnapshotMinBytes ?? 1024 * 1024
    const policy: SsrfPolicy = {
      allowed: [...options.insecureRegistries, ...(options.hostedRegistry !== undefined ? [options.hostedRegistry] : [])]
    }
    const transport = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new Transport({
            policy,
            ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
            ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {})
          })
      ),
      (t) => Effect.tryPromise(() => t.close()).pipe(Effect.ignore)
    )
    const client = new RegistryClient(transport, new TokenCache())
    const flights = new Map<string, Deferred.Deferred<PulledImage, OciError>>()
    const wanted = options.platform ?? hostPlatform()
    const shift = shiftOn
      ? { base: options.usernsBase, size: options.usernsSize }
      : undefined
    const maxBytes = options.maxUnpackedMb * 1024 * 1024
    const maxEntries = options.maxEntries ?? 500_000
    const concurrency = Math.max(1, options.downloadConcurrency ?? 3)

    const registryCall = <A>(ref: ImageReference, f: () => Promise<A>) => dataPath(f, (e) => toOciError(e, ref.registry))

    const preflight = (ref: ImageReference) => {
      const { host, port } = splitHostPort(ref.apiHost)
      const effectivePort = port ?? (isAllowListed(policy, host, 80) ? 80 : 443)
      return checkHost(policy, host, effectivePort)
    }

    const resolveRef = (ref: ImageReference, credentials: RegistryCredentials) =>
      Effect.gen(function*() {
        yield* preflight(ref)
        const reference = formatReference(ref)
        const top = yield* registryCall(ref, () => client.getManifest(ref, ref.digest ?? ref.tag ?? "latest", credentials))
        let chosen = top
        let platform: string | undefined
        let indexDigest: string | undefined
        if (isIndexMediaType(top.mediaType)) {
          const index = yield* decodeJson(ImageIndex, top.bytes, top.mediaType, top.digest)
          const desc = selectPlatform(index, wanted)
          if (desc === undefined) {
            return yield* new NoMatchingPlatform({
              reference,
              wanted: formatPlatform(wanted),
              available: index.manifests.flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : []))
            })
          }
          indexDigest = top.digest
          platform = desc.platform ? formatPlatform(desc.platform) : undefined
          chosen = yield* registryCall(ref, () => client.getManifest(ref, desc.digest, credentials))
          if (chosen.digest !== desc.digest) {
            return yield* new DigestMismatch({ digest: desc.digest, reason: `manifest hashes to ${chosen.digest}` })
          }
          if (!isManifestMediaType(chosen.mediaType)) {
            return yield* new UnsupportedMediaType({ mediaType: chosen.mediaType, reason: "index entry is not an image manifest" })
          }
        }
        const manifest = yield* decodeJson(ImageManifest, chosen.bytes, chosen.mediaType, chosen.digest)
        for (const layer of manifest.layers) {
          if (layerCompression(layer.mediaType) === undefined) {
            return yield* new UnsupportedMediaType({ mediaType: layer.mediaType, reason: `layer ${layer.digest} is not a tar layer` })
          }
        }
        return {
          reference,
          digest: chosen.digest,
          indexDigest,
          platform: platform ?? formatPlatform(wanted),
          manifest
        } satisfies ResolvedImage
      })

    const readBundle = (digest: string): Effect.Effect<Option.Option<PulledImage>> => {
      const bundleDir = path.join(artifactsDir, hexOf(digest))
      return Effect.tryPromise(() => fs.readFile(path.join(bundleDir, "manifest.json"), "utf8")).pipe(
        Effect.flatMap((text) => Effect.try((): unknown => JSON.parse(text))),
        Effect.flatMap((u) => Schema.decodeUnknown(ProcessManifest)(u)),
        Effect.map((manifest) =>
          Option.some<PulledImage>({
            reference: manifest.reference,
            digest,
            bundleDir,
            rootfs: path.join(bundleDir, "rootfs"),
            manifest,
            reused: true
          })
        ),
        Effect.orElseSucceed(() => Option.none<PulledImage>())
      )
    }

    const reserve = (digest: string) =>
      Effect.acquireRelease(
        Effect.sync(() => cache.reserve(digest)),
        (release) => Effect.sync(release)
      )

    const fetchBlob = (ref: ImageReference, credentials: RegistryCredentials, d: Descriptor, onBytes: (n: number) => void) =>
      registryCall(ref, async () => {
        const entry = await cache.ensure(d.digest, d.size, (tmp) => client.downloadBlob(ref, d, credentials, tmp, onBytes))
        if (entry.hit) onBytes(d.size)
        return entry.path
      })

    const readConfig = (ref: ImageReference, credentials: RegistryCredentials, resolved: ResolvedImage) =>
      Effect.gen(function*() {
        const { manifest } = resolved
        const configPath = yield* fetchBlob(ref, credentials, manifest.config, () => undefined)
        const configBytes = yield* storage("read config", configPath, () => fs.readFile(configPath))
        return yield* decodeJson(ImageConfig, configBytes, manifest.config.mediaType, manifest.config.digest).pipe(
          Effect.mapError((e) => new InvalidImageConfig({ digest: manifest.config.digest, reason: e.reason, cause: e }))
        )
      })

    const adoptBuilt = makeAdoptBuilt({
      artifactsDir,
      helperPath: options.helperPath ?? "",
      usernsSize: options.usernsSize,
      maxBytes,
      maxEntries,
      resolve: resolveRef,
      readConfig,
      readBundle
    })

    const buildBundle = (
      ref: ImageReference,
      resolved: ResolvedImage,
      credentials: RegistryCredentials,
      emit: (p: Partial<PullProgress>) => void,
      addBytes: (n: number) => void
    ) =>
      Effect.scoped(
        Effect.gen(function*() {
          const { manifest, digest } = resolved
          const layers = manifest.layers
          for (const d of [manifest.config, ...layers]) yield* reserve(d.digest)
          const tmp = yield* Effect.acquireRelease(
            storage("create bundle", artifactsDir, () => fs.mkdtemp(path.join(artifactsDir, `.tmp-${hexOf(digest).slice(0, 12)}-`))),
            (dir) => Effect.tryPromise(() => fs.rm(dir, { recursive: true, force: true })).pipe(Effect.ignore)
          )
          const rootfs = path.join(tmp, "rootfs")
          yield* storage("create rootfs", rootfs, () => fs.mkdir(rootfs, { mode: 0o700 }))

          emit({ phase: "downloading" })
          const configPath = yield* fetchBlob(ref, credentials, manifest.config, addBytes)
          const configBytes = yield* storage("read config", configPath, () => fs.readFile(configPath))
          const config = yield* decodeJson(ImageConfig, configBytes, manifest.config.mediaType, manifest.config.digest).pipe(
            Effect.mapError((e) => new InvalidImageConfig({ digest: manifest.config.digest, reason: e.reason, cause: e }))
          )
          if (resolved.indexDigest === undefined && config.architecture !== undefined && config.architecture !== wanted.architecture) {
            return yield* new NoMatchingPlatform({
              reference: resolved.reference,
              wanted: formatPlatform(wanted),
              available: [`${config.os ?? "linux"}/${config.architecture}`]
            })
          }
          const unpacker = yield* applyLayers({
            ref,
            credentials,
            layers,
            rootfs,
            unpack: { maxBytes, maxEntries, idShift: shift },
            cache,
            client,
            chains,
            spares,
            snapshotMinBytes,
            concurrency,
            fetchBlob: (d) => fetchBlob(ref, credentials, d, addBytes),
            emit,
            addBytes
          })
          emit({ phase: "finalizing" })
          yield* dataPath(
            () => unpacker.finish(),
            (e) => new OciStorageError({ operation: "apply directory metadata", path: rootfs, reason: String(e), cause: e })
          )
          const processManifest = yield* dataPath(
            () =>
              buildProcessManifest({
                reference: resolved.reference,
                manifestDigest: digest,
                configDigest: manifest.config.digest,
                layers: layers.map((l) => l.digest),
                platform: resolved.platform,
                config,
                rootfs,
                usernsSize: options.usernsSize,
                now: new Date()
              }),
            (e) => new OciStorageError({ operation: "build process manifest", path: rootfs, reason: String(e), cause: e })
          )
          const bundleDir = path.join(artifactsDir, hexOf(digest))
          const encoded = yield* Schema.encode(ProcessManifest)(processManifest).pipe(Effect.orDie)
          const published = yield* storage("publish bundle", bundleDir, () => publishBundle(tmp, bundleDir, encoded))
          if (!published) {
            const existing = yield* readBundle(digest)
            if (Option.isSome(existing)) return existing.value
          }
          return {
            reference: resolved.reference,
            digest,
            bundleDir,
            rootfs: path.join(bundleDir, "rootfs"),
            manifest: processManifest,
            reused: false
          } satisfies PulledImage
        })
      )

    const pull: OciServiceApi["pull"] = (input, credentials, onProgress) =>
      Effect.gen(function*() {
        const ref = yield* parseReference(input)
        let progress: PullProgress = {
          reference: formatReference(ref),
          phase: "resolving",
          layersTotal: 0,
          layersDownloaded: 0,
          layersDone: 0,
          bytesTotal: 0,
          bytesDone: 0
        }
        let lastEmitBytes = 0
        const emit = (p: Partial<PullProgress>) => {
          progress = { ...progress, ...p }
          if (onProgress) onProgress(progress)
        }
        const addBytes = (n: number) => {
          progress = { ...progress, bytesDone: progress.bytesDone + n }
          if (Math.abs(progress.bytesDone - lastEmitBytes) >= 1024 * 1024 || progress.bytesDone === progress.bytesTotal) {
            lastEmitBytes = progress.bytesDone
            if (onProgress) onProgress(progress)
          }
        }
        emit({})
        const resolved = yield* resolveRef(ref, credentials)
        const m = resolved.manifest
        emit({
          layersTotal: m.layers.length,
          bytesTotal: m.config.size + m.layers.reduce((a, l) => a + l.size, 0)
        })
        const existing = yield* readBundle(resolved.digest)
        if (Option.isSome(existing)) {
          // keep the blobs of a bundle in use fresh for the GC
          yield* Effect.forEach([m.config, ...m.layers], (d) => Effect.tryPromise(() => cache.touchIfPresent(d.digest)).pipe(Effect.ignore))
          emit({ phase: "done", layersDone: m.layers.length, layersDownloaded: m.layers.length, bytesDone: progress.bytesTotal })
          return { ...existing.value, reference: resolved.reference }
        }
        const running = flights.get(resolved.digest)
        const result = running
          ? yield* Deferred.await(running)
          : yield* Effect.gen(function*() {
            const d = yield* Deferred.make<PulledImage, OciError>()
            flights.set(resolved.digest, d)
            return yield* buildBundle(ref, resolved, credentials, emit, addBytes).pipe(
              Effect.onExit((exit) => Deferred.done(d, exit).pipe(Effect.zipRight(Effect.sync(() => flights.delete(resolved.digest)))))
            )
          })
        emit({ phase: "done", layersDone: m.layers.length })
        return result
      }).pipe(Effect.withSpan("oci.pull", { attributes: { reference: input } }))

    const prewarmRef = makePrewarm({
      cache,
      chains,
      resolve: resolveRef,
      layerContext: (ref, credentials, resolved, emit) => ({
        ref,
        credentials,
        layers: resolved.manifest.layers,
        unpack: { maxBytes, maxEntries, idShift: shift },
        cache,
        client,
        chains,
        concurrency,
        fetchBlob: (d) => fetchBlob(ref, credentials, d, () => undefined),
        emit,
        addBytes: () => undefined
      })
    })

    const pinnedDigests = Effect.gen(function*() {
      const listed = yield* pinnedImages.digests
      const pinned = new Set<string>()
      for (const d of listed) {
        if (!isDigest(d)) continue
        pinned.add(d)
        const bundle = yield* readBundle(d)
        if (Option.isSome(bundle)) {
          pinned.add(bundle.value.manifest.configDigest)
          for (const l of bundle.value.manifest.layers) pinned.add(l)
        }
      }
      return pinned
    })

    const gc: OciServiceApi["gc"] = Effect.gen(function*() {
      const pinned = yield* pinnedDigests
      const report = yield* storage("gc", cacheRoot, () => cache.gc(options.cacheRetentionDays * 24 * 3600 * 1000, pinned))
      const chainsRemoved = yield* storage(
        "gc chain snapshots",
        chains.dir,
        () => chains.gc(options.cacheRetentionDays * 24 * 3600 * 1000, pinned)
      )
      if (chainsRemoved > 0) yield* Effect.logInfo(`oci cache gc: removed ${chainsRemoved} unused chain snapshot(s)`)
      yield* Effect.logInfo(
        `oci cache gc: deleted ${report.deleted} blobs (${report.deletedBytes} bytes), kept ${report.keptPinned} pinned, ${report.keptReserved} reserved, ${report.keptRecent} recent`
      )
      return report
    })

    const gcEvery = intervalOrOff(options.cacheGcIntervalHours, "hours")
    if (Option.isSome(gcEvery)) yield* periodic({ name: "oci.cacheGc", every: gcEvery.value, task: gc })

    return {
      pull,
      prewarm: (input, credentials, onProgress) =>
        parseReference(input).pipe(
          Effect.flatMap((ref) => prewarmRef(ref, credentials, onProgress)),
          Effect.withSpan("oci.prewarm", { attributes: { reference: input } })
        ),
      prepareSpare: (layers, nice) =>
        Effect.acquireRelease(
          Effect.promise(() => spares.prepare(layers, nice).catch(() => undefined)),
          (release) => (release === undefined ? Effect.void : Effect.promise(() => release().catch(() => undefined)))
        ).pipe(Effect.map((release) => release !== undefined)),
      adoptsBuiltTrees: options.adoptBuiltTrees === true && shiftOn && options.helperPath !== undefined,
      adoptBuilt,
      resolve: (input, credentials) => parseReference(input).pipe(Effect.flatMap((ref) => resolveRef(ref, credentials))),
      lookup: (digest) => (isDigest(digest) ? readBundle(digest) : Effect.succeed(Option.none())),
      cacheStatus: storage("status", cacheRoot, () => cache.status()),
      gc
    } satisfies OciServiceApi
  })
