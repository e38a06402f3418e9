/**
 * Shared test layers (for `it.layer`, `Effect.provide` in `it.scoped`): real
 * SQLite repositories on a temp dir, secrets with their own age key, fakes of
 * the OCI service and the ingress publisher, and a whole deployment
 * coordinator on the FakeRuntime — no root, no network, no helper binary.
 */
import { Context, Effect, Layer, Option, Ref } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Authz } from "../../src/auth/Authz.js"
import { PrincipalResolver } from "../../src/auth/PrincipalResolver.js"
import { DeniaConfig } from "../../src/config/Config.js"
import type { LoadedConfig } from "../../src/config/load.js"
import { decodeConfig } from "../../src/config/load.js"
import { derivePaths } from "../../src/config/paths.js"
import { Database } from "../../src/db/Database.js"
import { Coordinator } from "../../src/deploy/Coordinator.js"
import { DeploymentLog } from "../../src/deploy/DeploymentLog.js"
import { type PublishedReplica, ReplicaPublisher } from "../../src/deploy/ReplicaPublisher.js"
import type { RestartPolicy } from "../../src/deploy/restartPolicy.js"
import { Events } from "../../src/events/Events.js"
import { ImageNotFound } from "../../src/oci/errors.js"
import { OciService, type OciServiceApi, type PulledImage } from "../../src/oci/index.js"
import { ProcessManifest } from "../../src/oci/processManifest.js"
import { HostedPulls } from "../../src/registry/hostedPulls.js"
import { HostedRegistry } from "../../src/registry/HostedRegistry.js"
import { AuditRepo } from "../../src/repos/AuditRepo.js"
import { CredentialsRepo } from "../../src/repos/CredentialsRepo.js"
import { DeploymentsRepo } from "../../src/repos/DeploymentsRepo.js"
import { MembershipsRepo } from "../../src/repos/MembershipsRepo.js"
import { ProjectsRepo } from "../../src/repos/ProjectsRepo.js"
import { RegistriesRepo } from "../../src/repos/RegistriesRepo.js"
import { RegistryRepo } from "../../src/repos/RegistryRepo.js"
import { ServiceSecretsRepo } from "../../src/repos/ServiceSecretsRepo.js"
import { ServicesRepo } from "../../src/repos/ServicesRepo.js"
import { UsersRepo } from "../../src/repos/UsersRepo.js"
import type { RuntimeIoError } from "../../src/runtime/errors.js"
import type { FakeRuntimeOptions } from "../../src/runtime/FakeRuntime.js"
import { Runtime } from "../../src/runtime/Runtime.js"
import { Registries } from "../../src/secrets/registries.js"
import { SecretStore } from "../../src/secrets/SecretStore.js"
import { ServiceSecrets } from "../../src/secrets/serviceSecrets.js"
import { Volumes } from "../../src/volumes/Volumes.js"

/** The admin token of test configs (the same as `support/daemon.ts`, without loading the daemon graph). */
const ADMIN_TOKEN = "a".repeat(64)

/** A temp dir that lives as long as the scope. */
export const scopedTempDir = (prefix = "denia-test-") =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/** Daemon configuration on `dir` (nothing listens: the address is only used to name the hosted registry). */
export const configTest = (dir: string) =>
  Layer.effect(
    DeniaConfig,
    Effect.gen(function*() {
      const values = yield* decodeConfig(
        { admin_token: ADMIN_TOKEN, bind_addr: "127.0.0.1:1", data_dir: path.join(dir, "data"), log_level: "error" },
        {},
        "test"
      )
      return { values, paths: derivePaths(path.join(dir, "config.toml"), values.dataDir, ""), created: false }
    }).pipe(Effect.orDie)
  )

/** The repositories the deployment side uses, on a fresh migrated SQLite file below `dir`. */
export const reposTest = (dir: string) =>
  Layer.mergeAll(
    ProjectsRepo.layer,
    ServicesRepo.layer,
    DeploymentsRepo.layer,
    ServiceSecretsRepo.layer,
    RegistriesRepo.layer,
    AuditRepo.layer
  ).pipe(Layer.provide(Database.layer(path.join(dir, "denia.sqlite3"))))

/** Service secrets and registry credentials on a temp secret store. */
export const secretsTest = Layer.merge(ServiceSecrets.layer, Registries.layer).pipe(Layer.provide(SecretStore.layerTest))

export interface FakeImage {
  readonly args?: ReadonlyArray<string>
  readonly env?: ReadonlyArray<string>
  /** The image config's `StopSignal` and `Volumes`. */
  readonly stopSignal?: string
  readonly volumes?: ReadonlyArray<string>
}

export interface FakeOciOptions {
  /** Pullable references and what they hold; anything else is `ImageNotFound`. */
  readonly images: Readonly<Record<string, FakeImage>>
  /** Runs before a pull completes (hold a pull open with a Deferred, count pulls…). */
  readonly beforePull?: (reference: string) => Effect.Effect<void>
}

/** The digest the fake OCI service gives `reference` (stable, distinct per reference). */
export const fakeDigest = (reference: string) => `sha256:${createHash("sha256").update(reference).digest("hex")}`

/**
 * OciService without registries: `pull` serves `images` (a reference may
 * carry `@<digest>`), `lookup` finds what was pulled, the rootfs is an empty
 * dir below `dir`.
 */
export const fakeOciTest = (dir: string, options: FakeOciOptions) =>
  Layer.effect(
    OciService,
    Effect.gen(function*() {
      const pulled = yield* Ref.make(new Map<string, PulledImage>())
      const bundle = (reference: string, image: FakeImage): PulledImage => {
        const digest = fakeDigest(reference)
        const bundleDir = path.join(dir, "artifacts", digest.slice("sha256:".length))
        fs.mkdirSync(path.join(bundleDir, "rootfs"), { recursive: true })
        const manifest = ProcessManifest.make({
          schemaVersion: 1,
          reference,
          manifestDigest: digest,
          configDigest: digest,
          layers: [],
          platform: "linux/amd64",
          args: image.args ?? ["/bin/app"],
          env: image.env ?? [],
          workingDir: "",
          user: { spec: "", uid: 0, gid: 0, additionalGids: [] },
          exposedPorts: [],
          labels: {},
          ...(image.stopSignal === undefined ? {} : { stopSignal: image.stopSignal }),
          ...(image.volumes === undefined ? {} : { volumes: image.volumes }),
          createdAt: new Date(0).toISOString()
        })
        return { reference, digest, bundleDir, rootfs: path.join(bundleDir, "rootfs"), manifest, reused: false }
      }
      const pull: OciServiceApi["pull"] = (reference) =>
        Effect.gen(function*() {
          const name = reference.split("@")[0] ?? reference
          const image = options.images[name]
          if (image === undefined) return yield* new ImageNotFound({ reference, reason: "no such image in the fake registry" })
          if (options.beforePull !== undefined) yield* options.beforePull(name)
          const result = bundle(name, image)
          yield* Ref.update(pulled, (m) => new Map(m).set(result.digest, result))
          return result
        })
      return {
        pull,
        prewarm: () => Effect.succeed({ layers: 0, alreadyUnpacked: true, digests: [] }),
        prepareSpare: () => Effect.succeed(false),
        adoptsBuiltTrees: false,
        adoptBuilt: (reference) => Effect.die(`fake OCI: adoptBuilt(${reference}) is not used by these tests`),
        resolve: (reference) => Effect.die(`fake OCI: resolve(${reference}) is not used by these tests`),
        lookup: (digest) => Effect.map(Ref.get(pulled), (m) => Option.fromNullable(m.get(digest))),
        cacheStatus: Effect.die("fake OCI: cacheStatus is not used by these tests"),
        gc: Effect.die("fake OCI: gc is not used by these tests")
      } satisfies OciServiceApi
    })
  )

/** What the fake ingress was last told per service. */
export class PublishedReplicas extends Context.Tag("denia/test/PublishedReplicas")<
  PublishedReplicas,
  {
    readonly current: (serviceId: string) => Effect.Effect<ReadonlyArray<PublishedReplica>>
    readonly drained: Effect.Effect<ReadonlyArray<string>>
  }
>() {}

/** ReplicaPublisher that records the published sets and the drained replica ids. */
export const recordingPublisherTest = Layer.effectContext(
  Effect.gen(function*() {
    const sets = yield* Ref.make(new Map<string, ReadonlyArray<PublishedReplica>>())
    const drained = yield* Ref.make<ReadonlyArray<string>>([])
    return Context.make(ReplicaPublisher, {
      publish: (serviceId, replicas) => Ref.update(sets, (m) => new Map(m).set(serviceId, replicas)),
      drain: (_serviceId, ids) => Ref.update(drained, (d) => [...d, ...ids])
    }).pipe(
      Context.add(PublishedReplicas, {
        current: (serviceId) => Effect.map(Ref.get(sets), (m) => m.get(serviceId) ?? []),
        drained: Ref.get(drained)
      })
    )
  })
)

export interface CoordinatorTestOptions {
  readonly images: FakeOciOptions["images"]
  readonly beforePull?: FakeOciOptions["beforePull"]
  readonly runtime?: FakeRuntimeOptions
  /** Replaces `Runtime.layerTest(runtime)` (e.g. `scriptedRuntime(...).layer`). */
  readonly runtimeLayer?: Layer.Layer<Runtime, RuntimeIoError>
  /** Default: 20 ms doubling to 1 s, reset after 1 min up. */
  readonly restartPolicy?: RestartPolicy
}

/**
 * A booted Coordinator on the FakeRuntime, with the repositories, runtime,
 * deployment log and publisher probe it uses, all on one temp dir.
 */
export const coordinatorTest = (options: CoordinatorTestOptions) =>
  Layer.unwrapScoped(
    Effect.map(scopedTempDir("denia-coordinator-"), (dir) => {
      const repos = reposTest(dir)
      const workloads = Layer.mergeAll(
        options.runtimeLayer ?? Runtime.layerTest(options.runtime),
        fakeOciTest(dir, { images: options.images, ...(options.beforePull === undefined ? {} : { beforePull: options.beforePull }) }),
        secretsTest,
        HostedPulls.layer.pipe(Layer.provide(configTest(dir))),
        recordingPublisherTest,
        DeploymentLog.layer(path.join(dir, "logs")),
        Volumes.layer({
          dataDir: dir,
          usernsBase: 0,
          usernsSize: 65536,
          maxArchiveBytes: 1 << 30,
          maxUnpackedBytes: 1 << 30,
          maxArchiveEntries: 100_000,
          shiftIds: false
        }),
        Events.layer
      ).pipe(Layer.provideMerge(repos))
      return Coordinator.layer({
        hosted: { address: "127.0.0.1:1" },
        nodeLimits: { cpuMillis: 1000, memoryMb: 256, pids: 256 },
        artifactsDir: path.join(dir, "artifacts"),
        retainedDeployments: 5,
        restartPolicy: options.restartPolicy ?? { baseMs: 20, capMs: 1_000, resetAfterMs: 60_000 }
      }).pipe(Layer.provideMerge(workloads))
    })
  )

/**
 * The hosted registry over real repositories and auth on `config`'s SQLite file (what its unit tests share);
 * the repositories, auth, config and hosted pulls stay in the output for the test to use.
 */
export const hostedRegistryTest = (config: LoadedConfig) => {
  const configLayer = DeniaConfig.layer(config)
  const repos = Layer.mergeAll(
    ProjectsRepo.layer,
    ServicesRepo.layer,
    UsersRepo.layer,
    CredentialsRepo.layer,
    MembershipsRepo.layer,
    RegistryRepo.layer
  ).pipe(Layer.provide(Database.layer(config.paths.sqlite)))
  const auth = Layer.merge(PrincipalResolver.layer, Authz.layer).pipe(Layer.provide(Layer.merge(repos, configLayer)))
  return HostedRegistry.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(repos, auth, configLayer, HostedPulls.layer.pipe(Layer.provide(configLayer))))
  )
}
