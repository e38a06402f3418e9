/**
 * The composition root: the one Layer graph of the daemon. Nothing outside
 * `src/daemon/` provides production layers.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as path from "node:path"
import { autoDeployTriggerLayer } from "../app/AutoDeployApp.js"
import { Authz } from "../auth/Authz.js"
import { Identity } from "../auth/Identity.js"
import { PrincipalResolver } from "../auth/PrincipalResolver.js"
import { Throttle } from "../auth/Throttle.js"
import { AutoDeploy } from "../autodeploy/AutoDeploy.js"
import { Builder } from "../builder/Builder.js"
import { GitClient } from "../builder/git/GitClient.js"
import { GitSources } from "../builder/git/GitSources.js"
import { Uploads } from "../builder/uploads/Uploads.js"
import { DeniaConfig } from "../config/Config.js"
import { parseAddress } from "../config/fields.js"
import type { LoadedConfig } from "../config/load.js"
import { Database } from "../db/Database.js"
import { Coordinator } from "../deploy/Coordinator.js"
import { DeploymentLog } from "../deploy/DeploymentLog.js"
import { servingImagesLayer } from "../deploy/pinnedImages.js"
import { ReplicaPublisher } from "../deploy/ReplicaPublisher.js"
import type { RestartPolicy } from "../deploy/restartPolicy.js"
import { Events } from "../events/Events.js"
import { Domains } from "../ingress/Domains.js"
import { Ingress } from "../ingress/Ingress.js"
import { ReplicaRegistry } from "../ingress/ReplicaRegistry.js"
import { AddressBook } from "../network/AddressBook.js"
import { EndpointPorts } from "../network/EndpointPorts.js"
import { NodeNetwork } from "../network/NodeNetwork.js"
import { OciService } from "../oci/index.js"
import { PullJobs } from "../oci/PullJobs.js"
import { RegistryGc } from "../registry/gc.js"
import { HostedPulls } from "../registry/hostedPulls.js"
import { HostedRegistry } from "../registry/HostedRegistry.js"
import { AuditRepo } from "../repos/AuditRepo.js"
import { CredentialsRepo } from "../repos/CredentialsRepo.js"
import { DeploymentsRepo } from "../repos/DeploymentsRepo.js"
import { DomainsRepo } from "../repos/DomainsRepo.js"
import { GitStateRepo } from "../repos/GitStateRepo.js"
import { MembershipsRepo } from "../repos/MembershipsRepo.js"
import { ProjectsRepo } from "../repos/ProjectsRepo.js"
import { RegistriesRepo } from "../repos/RegistriesRepo.js"
import { RegistryRepo } from "../repos/RegistryRepo.js"
import { ServiceSecretsRepo } from "../repos/ServiceSecretsRepo.js"
import { ServicesRepo } from "../repos/ServicesRepo.js"
import { UsersRepo } from "../repos/UsersRepo.js"
import { probeIdmappedRootfs, resolveHelperPath, Runtime } from "../runtime/index.js"
import { Registries } from "../secrets/registries.js"
import { SecretStore } from "../secrets/SecretStore.js"
import { ServiceSecrets } from "../secrets/serviceSecrets.js"
import { Volumes, type VolumesOptions } from "../volumes/Volumes.js"
import { ApiServerLive } from "./apiServer.js"
import { appLayer } from "./appLayer.js"
import { holdDataDirLock } from "./dataDirLock.js"
import { loggingLayer } from "./logging.js"

/** `0.0.0.0:p` → `127.0.0.1:p`, `[::]:p` → `[::1]:p`; other addresses unchanged. */
export const loopbackAddress = (bindAddr: string): string => {
  const a = parseAddress(bindAddr)
  if (a === undefined) return bindAddr
  if (a.host === "0.0.0.0") return `127.0.0.1:${a.port}`
  if (a.host === "::") return `[::1]:${a.port}`
  return bindAddr
}

/** Internal knobs for tests (not configuration). */
export interface DaemonInternals {
  readonly restartPolicy?: RestartPolicy
  /** An image builder for the deploy pipeline (tests inject a fake one). */
  readonly builder?: Layer.Layer<Builder>
  /** Deploy builds from the build's own layer trees where the node can (ADR 0822; default true). Tests of
   * the prewarm path, which nodes without idmapped mounts take, switch it off. */
  readonly adoptBuildTrees?: boolean
  /** Restore caps (tests lower them). */
  readonly volumeLimits?: Pick<VolumesOptions, "maxArchiveBytes" | "maxUnpackedBytes" | "maxArchiveEntries">
}

/** Restore caps: a restore may be as large as a big database, not unbounded. */
const VOLUME_LIMITS = { maxArchiveBytes: 256 * 1024 ** 3, maxUnpackedBytes: 256 * 1024 ** 3, maxArchiveEntries: 10_000_000 }

/**
 * The daemon: first the data dir lock (ADR 0012), then everything else —
 * migrations, the boot sweep and the listeners never run beside another
 * daemon on the same data dir.
 */
export const daemonLayer = (config: LoadedConfig, internals: DaemonInternals = {}) =>
  Layer.unwrapScoped(Effect.as(holdDataDirLock(config.paths.dataDir), servicesLayer(config, internals)))

const servicesLayer = (config: LoadedConfig, internals: DaemonInternals) => {
  const configLayer = DeniaConfig.layer(config)
  const state = Database.layer(config.paths.sqlite)
  const repos = Layer.mergeAll(
    ProjectsRepo.layer,
    ServicesRepo.layer,
    DeploymentsRepo.layer,
    UsersRepo.layer,
    CredentialsRepo.layer,
    MembershipsRepo.layer,
    AuditRepo.layer,
    RegistriesRepo.layer,
    ServiceSecretsRepo.layer,
    RegistryRepo.layer,
    DomainsRepo.layer,
    GitStateRepo.layer
  ).pipe(Layer.provide(state))
  const auth = Layer.mergeAll(PrincipalResolver.layer, Authz.layer, Identity.layer, Throttle.layer).pipe(
    Layer.provide(Layer.merge(repos, configLayer))
  )
  // Secrets: the age key file is created (0600) on first boot when missing.
  const secretStore = SecretStore.layer({
    dataDir: config.paths.dataDir,
    ageKeyFile: config.paths.ageKeyFile,
    ageRecipient: config.values.ageRecipient === "" ? undefined : config.values.ageRecipient
  }).pipe(Layer.provide(NodeFileSystem.layer))
  const secrets = Layer.merge(Registries.layer, ServiceSecrets.layer).pipe(Layer.provideMerge(secretStore), Layer.provide(repos))
  // Deployer pull tokens: one in-memory instance shared by /v2 (verifies) and the coordinator (mints).
  const hostedPulls = HostedPulls.layer.pipe(Layer.provide(configLayer))
  // Hosted registry (/v2) and its GC loop, scoped to the daemon.
  const registry = RegistryGc.layer.pipe(
    Layer.provideMerge(HostedRegistry.layer),
    Layer.provideMerge(hostedPulls),
    Layer.provide(Layer.mergeAll(repos, auth, configLayer))
  )
  // Workloads: runtime, image acquisition, and the deployment coordinator that owns replicas.
  const v = config.values
  // Our own registry is dialled over loopback even when the API listens on a wildcard address.
  const hostedAddress = loopbackAddress(v.bindAddr)
  const runtime = Runtime.layer({
    dataDir: config.paths.dataDir,
    usernsBase: v.usernsBase,
    usernsSize: v.usernsSize,
    cgroupRoot: v.cgroupRoot,
    helperPath: resolveHelperPath(),
    stopGraceMs: v.stopGraceSeconds * 1000,
    logMaxBytes: 10 * 1024 * 1024
  })
  // A build's bundle is made from its own layer trees (ADR 0822) only where a replica's rootfs can be
  // mounted idmapped on this data dir's file system (and ownership is shifted at all: running as root).
  const idmapProbe = internals.adoptBuildTrees === false
    ? Effect.succeed(false)
    : probeIdmappedRootfs(resolveHelperPath(), config.paths.dataDir).pipe(
      Effect.tap((r) => Effect.logInfo(`idmapped rootfs: ${r.reason}`)),
      Effect.map((r) => r.ok)
    )
  const oci = Layer.unwrapEffect(Effect.map(idmapProbe, (adoptBuiltTrees) =>
    OciService.layer({
      dataDir: config.paths.dataDir,
      usernsBase: v.usernsBase,
      usernsSize: v.usernsSize,
      insecureRegistries: v.insecureRegistries,
      hostedRegistry: hostedAddress,
      cacheVerifyOnHit: v.ociCacheVerifyOnHit,
      cacheRetentionDays: v.ociCacheRetentionDays,
      cacheGcIntervalHours: v.ociCacheGcIntervalHours,
      maxUnpackedMb: v.ociMaxUnpackedMb,
      adoptBuiltTrees,
      helperPath: resolveHelperPath()
    }))).pipe(Layer.provide(servingImagesLayer))
  // Git sources: checkouts for builds and ls-remote for polling (ADR 0804).
  const gitSources = GitSources.layer.pipe(
    Layer.provide(GitClient.layer({
      timeoutMs: v.gitCloneTimeoutSeconds * 1000,
      maxCheckoutBytes: v.gitCheckoutMaxMb * 1024 * 1024,
      maxEntries: 500_000,
      caFile: v.gitCaFile
    })),
    Layer.provide(Layer.merge(repos, secrets))
  )
  // Service volumes (`<data_dir>/volumes`), mounted by the coordinator's replicas, backed up and restored by the API.
  const volumes = Volumes.layer({
    dataDir: config.paths.dataDir,
    usernsBase: v.usernsBase,
    usernsSize: v.usernsSize,
    tarPipeHelper: resolveHelperPath(),
    ...(internals.volumeLimits ?? VOLUME_LIMITS)
  })
  const publisher = ReplicaPublisher.layer.pipe(Layer.provideMerge(ReplicaRegistry.layer))
  // Node network (bridge, veths, nftables, names): built, and its boot sweep done, before the coordinator restarts services.
  const endpointPorts = EndpointPorts.layer.pipe(Layer.provide(Layer.merge(state, configLayer)))
  const network = NodeNetwork.layer({
    mode: v.networkMode,
    bridge: v.networkBridge,
    subnet: v.networkSubnet,
    egress: v.networkEgress,
    dnsServers: v.dnsServers,
    poolSize: v.networkPoolSize
  })
    .pipe(
      Layer.provideMerge(endpointPorts),
      Layer.provide(AddressBook.layer.pipe(Layer.provide(state)))
    )
  // Builds (ADR 0801): the upload store and buildah, provided to the coordinator (its pipelines build
  // upload and Git sources) and to the app layer (the uploads endpoint).
  const buildsDir = path.join(config.paths.dataDir, "builds")
  const builds = Layer.merge(
    internals.builder ?? Builder.layer({
      buildsDir,
      cgroupRoot: v.cgroupRoot,
      memoryMb: v.buildMemoryMb,
      timeoutMinutes: v.buildTimeoutMinutes,
      concurrency: v.buildConcurrency,
      insecureRegistries: v.insecureRegistries,
      usernsSize: v.usernsSize
    }),
    Uploads.layer({
      dir: config.paths.uploads,
      contextsDir: path.join(buildsDir, "contexts"),
      ttlMinutes: v.uploadTtlMinutes,
      tarPipeHelper: resolveHelperPath(),
      caps: {
        maxBytes: v.uploadMaxMb * 1024 * 1024,
        maxUnpackedBytes: v.uploadMaxUnpackedMb * 1024 * 1024,
        maxEntries: v.uploadMaxEntries
      }
    })
  ).pipe(Layer.provide(Layer.mergeAll(secrets, hostedPulls)))
  const coordinator = Coordinator.layer({
    hosted: { address: hostedAddress },
    nodeLimits: { cpuMillis: v.defaultCpuMillis, memoryMb: v.defaultMemoryMb, pids: v.defaultPids },
    artifactsDir: config.paths.artifacts,
    retainedDeployments: v.deploymentsRetained,
    nofile: { soft: 1024, hard: v.defaultNofile },
    ...(internals.restartPolicy === undefined ? {} : { restartPolicy: internals.restartPolicy })
  }).pipe(
    Layer.provideMerge(Layer.mergeAll(runtime, publisher, network, volumes, DeploymentLog.layer(config.paths.logs), builds)),
    Layer.provideMerge(PullJobs.layer.pipe(Layer.provideMerge(oci))),
    Layer.provide(Layer.mergeAll(repos, secrets, hostedPulls, gitSources))
  )
  // Auto-deploy: webhook deliveries and polling, deploying through the app's trigger (audited as the system).
  const autoDeploy = AutoDeploy.layer.pipe(
    Layer.provide(autoDeployTriggerLayer),
    Layer.provide(Layer.mergeAll(repos, gitSources, coordinator, hostedPulls, auth, secrets))
  )
  // Ingress: public HTTP/HTTPS listeners (scoped; an unbindable port is logged, the API stays up),
  // route table, domains, certificates. Shares the ReplicaRegistry the coordinator publishes to.
  const ingress = Domains.layer.pipe(
    Layer.provideMerge(Ingress.layer),
    Layer.provide(Layer.mergeAll(repos, configLayer, ReplicaRegistry.layer))
  )
  return ApiServerLive.pipe(
    Layer.provide(
      appLayer.pipe(Layer.provideMerge(Layer.mergeAll(repos, auth, secrets, configLayer, registry, coordinator, ingress, autoDeploy)))
    ),
    // The one event bus (events/Events.ts), shared by every publisher and subscriber above.
    Layer.provide(Events.layer),
    Layer.provide(loggingLayer(config.values))
  )
}
