/**
 * What the coordinator's parts share: its dependencies, its state, the
 * per-service lock, the fiber set background work runs in, and the steps
 * every workflow uses (failing a deployment, acquiring an image, launching
 * and retiring replicas, publishing a set to the ingress).
 */
import { Effect, ExecutionStrategy, FiberSet, Option, Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { isGitService } from "../../builder/git/GitSources.js"
import type { Deployment } from "../../domain/deployment.js"
import type { EffectiveLimits } from "../../domain/limits.js"
import type { Service } from "../../domain/service.js"
import type { OciService, PulledImage } from "../../oci/index.js"
import { makeKeyedMutex } from "../../platform/keyedMutex.js"
import type { HostedPulls } from "../../registry/hostedPulls.js"
import { DeploymentsRepo } from "../../repos/DeploymentsRepo.js"
import { ProjectsRepo } from "../../repos/ProjectsRepo.js"
import { ServiceSecretsRepo } from "../../repos/ServiceSecretsRepo.js"
import { ServicesRepo } from "../../repos/ServicesRepo.js"
import { Runtime } from "../../runtime/index.js"
import type { Registries } from "../../secrets/registries.js"
import type { ServiceSecrets } from "../../secrets/serviceSecrets.js"
import type { Volumes } from "../../volumes/Volumes.js"
import { DeploymentLog, type LogPhase } from "../DeploymentLog.js"
import { DeployFailed } from "../errors.js"
import { scrubInternalPaths, serviceRef, withLogsHint } from "../failureMessages.js"
import { buildFromGit } from "../gitBuild.js"
import { acquireDeploymentImage, acquireImage, bundleOf, GIT_PENDING_TAG, type HostedRegistryAccess } from "../imageSource.js"
import { progressLogger } from "../pullProgress.js"
import { ReplicaPublisher } from "../ReplicaPublisher.js"
import { closeReplica, closeSet, launchHealthyReplica, type RunningReplica, type RunningSet } from "../replicaSet.js"
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from "../restartPolicy.js"
import { makeNotices } from "./notices.js"
import { makeCoordinatorState } from "./state.js"

export interface CoordinatorOptions {
  readonly hosted: HostedRegistryAccess
  readonly nodeLimits: EffectiveLimits
  /** `<data_dir>/artifacts`, where rootfs bundles live. */
  readonly artifactsDir: string
  /** Deployments per service whose bundles are kept (`deployments_retained`). */
  readonly retainedDeployments: number
  /** Crash-restart backoff (default 1 s doubling to 5 min, reset after 10 min up). */
  readonly restartPolicy?: RestartPolicy
  /** RLIMIT_NOFILE of workloads (`default_nofile` is the hard limit; default soft 1024, hard 65536). */
  readonly nofile?: { readonly soft: number; readonly hard: number }
}

export const DEFAULT_NOFILE = { soft: 1024, hard: 65536 } as const

/** What pipelines and restarts need besides the repositories (image acquisition, launching). */
export type WorkloadServices = OciService | Runtime | ServiceSecrets | Registries | HostedPulls | Volumes

/** Built in the coordinator's scope; the order of the scoped steps matters (see below). */
export const makeToolkit = (options: CoordinatorOptions) =>
  Effect.gen(function*() {
    const services = yield* ServicesRepo
    const projects = yield* ProjectsRepo
    const deployments = yield* DeploymentsRepo
    const secretsRepo = yield* ServiceSecretsRepo
    const log = yield* DeploymentLog
    const publisher = yield* ReplicaPublisher
    const runtime = yield* Runtime
    // Replica scopes are children of this one, created before the fiber set and the shutdown
    // finalizer (added last, by the coordinator): finalizers run in reverse, so `stopping` is set
    // before any replica is stopped and a workload ended by the shutdown is never taken for a crash.
    const replicasScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const mutex = yield* makeKeyedMutex<string>()
    // Every background fiber (pipelines, exit watchers, pending restarts, bundle GC) lives in this
    // set, in the coordinator's scope, and runs with the services the coordinator was built with.
    const fibers = yield* FiberSet.make<unknown, never>()
    const fork = yield* FiberSet.runtime(fibers)<WorkloadServices>()
    const spawn = (effect: Effect.Effect<unknown, never, WorkloadServices>) => Effect.sync(() => void fork(effect))
    /** Pipelines, restarts and stops of one service run one at a time. */
    const serialized = <A, E, R>(serviceId: string, effect: Effect.Effect<A, E, R>) => mutex.withLock(serviceId)(effect)
    const state = yield* makeCoordinatorState
    const notices = yield* makeNotices
    const policy = options.restartPolicy ?? DEFAULT_RESTART_POLICY
    // the runtime works below the data dir's real path; messages may carry either spelling
    const dataDir = path.dirname(options.artifactsDir)
    const realDataDir = yield* Effect.try(() => fs.realpathSync(dataDir)).pipe(Effect.orElseSucceed(() => dataDir))
    const scrub = (message: string) => scrubInternalPaths(scrubInternalPaths(message, realDataDir), dataDir)

    /** How the daemon log and failure hints name a service (`web`, `project/web`). */
    const refOf = (serviceId: string) =>
      Effect.gen(function*() {
        const service = yield* services.get(serviceId)
        const project = yield* projects.get(service.projectId)
        return serviceRef(service, project)
      }).pipe(
        Effect.catchTag("denia/domain/NotFound", () => Effect.succeed(serviceId)),
        // Only a name for log lines: the failure is logged and the id stands in.
        Effect.catchTag(
          "denia/db/DatabaseError",
          (e) => Effect.logError("naming a service: database failure", e).pipe(Effect.as(serviceId))
        )
      )

    const publishSet = (serviceId: string, set: RunningSet | undefined) =>
      publisher.publish(
        serviceId,
        (set?.replicas ?? []).flatMap((
          r
        ) => (r.replica.socketPath === null ? [] : [{ id: r.replica.id, socketPath: r.replica.socketPath }]))
      )

    /** Take a set out of traffic, wait for in-flight requests, stop it. */
    const retire = (serviceId: string, set: RunningSet) =>
      publisher.drain(serviceId, set.replicas.map((r) => r.replica.id)).pipe(Effect.zipRight(closeSet(set)))

    /** Operator-facing failure text: no internal paths, ends with where to look next. */
    const failureText = (serviceId: string, message: string) => Effect.map(refOf(serviceId), (ref) => withLogsHint(scrub(message), ref))

    /**
     * A failed deployment — the one place a deployment ends `failed`. Failures
     * of the image or workload point at the service log; bookkeeping outcomes
     * (superseded, aborted by a daemon restart) have nothing there and keep
     * their plain message.
     */
    const finishFailed = (deployment: Deployment, message: string, hint: "logs" | "none" = "logs") =>
      Effect.gen(function*() {
        const text = hint === "logs" ? yield* failureText(deployment.serviceId, message) : message
        yield* deployments.setStatus(deployment.id, "failed", { error: text })
        yield* log.append(deployment.id, "FAILED", text)
        yield* notices.deploymentFailed(deployment.serviceId, deployment.id, text)
        yield* Effect.logInfo(`deploy failed: service ${yield* refOf(deployment.serviceId)} deployment ${deployment.id}: ${text}`)
      })

    /** Acquire the image (pull, or reuse the bundle for redeploys of a known digest). */
    const imageFor = (service: Service, deployment: Deployment): Effect.Effect<PulledImage, DeployFailed, WorkloadServices> =>
      Effect.gen(function*() {
        if (deployment.imageDigest !== undefined) {
          const cached = yield* bundleOf(deployment.imageDigest).pipe(Effect.option)
          if (Option.isSome(cached)) {
            yield* log.append(deployment.id, "BUILDING", `reusing image ${deployment.imageDigest}`)
            return cached.value
          }
        }
        if (deployment.imageDigest === undefined && isGitService(service) && deployment.imageRef.endsWith(`:${GIT_PENDING_TAG}`)) {
          const project = yield* projects.get(service.projectId).pipe(
            Effect.catchTag("denia/domain/NotFound", Effect.die),
            Effect.mapError((cause) => new DeployFailed({ phase: "building", message: "internal error (see daemon log)", cause }))
          )
          // one scope for the build and the pull of its result (a spare clone of the base, ADR 0812)
          return yield* Effect.scoped(Effect.gen(function*() {
            const built = yield* buildFromGit({
              service,
              project,
              deployment,
              hosted: options.hosted,
              deployments,
              log: (phase, message) => log.append(deployment.id, phase, message),
              spareScope: yield* Effect.scope
            })
            return yield* acquireImage(service, built, progressLogger(log, deployment.id))
          }))
        }
        const reference = deployment.imageDigest !== undefined && !deployment.imageRef.includes("@")
          ? `${deployment.imageRef}@${deployment.imageDigest}`
          : deployment.imageRef
        return yield* acquireDeploymentImage(
          service,
          deployment.id,
          reference,
          progressLogger(log, deployment.id),
          (line) => log.append(deployment.id, "BUILDING", line)
        )
      })

    /**
     * `count` health-gated replicas of `deployment` (a fresh deployment, or
     * relaunches of the live one); when one fails, those already up are stopped.
     */
    const launchReplicas = (service: Service, deployment: Deployment, pulled: PulledImage, count: number) =>
      Effect.gen(function*() {
        const project = yield* projects.get(service.projectId).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
        const launched: Array<RunningReplica> = []
        for (let i = 0; i < count; i++) {
          const replica = yield* launchHealthyReplica({
            service,
            project,
            deploymentId: deployment.id,
            pulled,
            nodeLimits: options.nodeLimits,
            nofile: options.nofile ?? DEFAULT_NOFILE,
            parentScope: replicasScope,
            log: (phase: LogPhase, message: string) => log.append(deployment.id, phase, message)
          }).pipe(Effect.tapError(() => Effect.forEach(launched, closeReplica, { discard: true })))
          launched.push(replica)
        }
        return launched
      })

    return {
      options,
      policy,
      services,
      projects,
      deployments,
      secretsRepo,
      log,
      runtime,
      state,
      notices,
      serialized,
      spawn,
      scrub,
      refOf,
      publishSet,
      retire,
      finishFailed,
      imageFor,
      launchReplicas
    }
  })

export type Toolkit = Effect.Effect.Success<ReturnType<typeof makeToolkit>>
