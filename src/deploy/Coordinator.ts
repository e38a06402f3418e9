/**
 * The deployment coordinator: owns the running replica sets of every service
 * (scoped under the daemon), runs deploy pipelines in background fibers
 * (serialized per service, latest request wins), and performs stop, start,
 * restart and rollback. Desired state is the promoted-deployment pointer in
 * SQLite; daemon shutdown stops replicas without touching it.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Context, Effect, Either, ExecutionStrategy, FiberSet, Layer, Option, Ref, Scope } from "effect"
import type { Deployment, DeploymentTrigger } from "../domain/deployment.js"
import type { NotFound } from "../domain/errors.js"
import type { EffectiveLimits } from "../domain/limits.js"
import type { Service } from "../domain/service.js"
import type { ServiceStatus } from "../domain/serviceStatus.js"
import type { PulledImage } from "../oci/index.js"
import { OciService } from "../oci/index.js"
import { DeploymentsRepo } from "../repos/DeploymentsRepo.js"
import { ProjectsRepo } from "../repos/ProjectsRepo.js"
import { ServiceSecretsRepo } from "../repos/ServiceSecretsRepo.js"
import { ServicesRepo } from "../repos/ServicesRepo.js"
import { Runtime } from "../runtime/index.js"
import { HostedPulls } from "../registry/hostedPulls.js"
import { Registries } from "../secrets/registries.js"
import { ServiceSecrets } from "../secrets/serviceSecrets.js"
import { DeploymentLog, type LogPhase } from "./DeploymentLog.js"
import { DomainEvent } from "../events/DomainEvent.js"
import { Events } from "../events/Events.js"
import { ActionConflict, DeployFailed } from "./errors.js"
import { acquireImage, bundleOf, imageReferenceOf, type HostedRegistryAccess } from "./imageSource.js"
import { collectBundles, retainedDigests } from "./bundleGc.js"
import { exitReason, scrubInternalPaths, serviceRef, withLogsHint } from "./failureMessages.js"
import { closeSet, launchHealthyReplica, type RunningReplica, type RunningSet } from "./replicaSet.js"
import { ReplicaPublisher } from "./ReplicaPublisher.js"
import { DEFAULT_RESTART_POLICY, formatDuration, nextCrashCount, restartDelayMs, type RestartPolicy } from "./restartPolicy.js"
import { deriveStatus } from "./serviceStatus.js"
import { pendingChanges, rollbackTarget } from "./history.js"
import { progressLogger } from "./pullProgress.js"

export interface CoordinatorOptions {
  readonly hosted: HostedRegistryAccess
  readonly nodeLimits: EffectiveLimits
  /** `<data_dir>/artifacts`, where rootfs bundles live. */
  readonly artifactsDir: string
  /** Deployments per service whose bundles are kept (`deployments_retained`). */
  readonly retainedDeployments: number
  /** Crash-restart backoff (default 1 s doubling to 5 min, reset after 10 min up). */
  readonly restartPolicy?: RestartPolicy
}

/**
 * Supervision of the live deployment of one service: its consecutive
 * crashes and the pending restart. Replaced (by identity) when another
 * deployment is promoted, dropped on stop: a pending restart that finds a
 * different object gives up.
 */
interface Supervision {
  readonly deploymentId: string
  crashes: number
  lastExit: string | undefined
  nextRestartAt: Date | undefined
}

export type ServiceAction = "stop" | "start" | "restart" | "rollback"

const ABORTED = "daemon restarted; deployment aborted"

const make = (options: CoordinatorOptions) =>
  Effect.gen(function* () {
    const services = yield* ServicesRepo
    const projects = yield* ProjectsRepo
    const deployments = yield* DeploymentsRepo
    const secretsRepo = yield* ServiceSecretsRepo
    const log = yield* DeploymentLog
    const events = yield* Events
    const publisher = yield* ReplicaPublisher
    const runtime = yield* Runtime
    const context = yield* Effect.context<OciService | Runtime | ServiceSecrets | Registries | HostedPulls>()
    // Replica scopes are children of this one, created before the shutdown finalizer below is
    // registered: finalizers run in reverse, so `stopping` is set before any replica is stopped
    // and a workload ended by the shutdown is never taken for a crash.
    const replicasScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const fibers = yield* FiberSet.make<unknown, never>()
    const running = new Map<string, RunningSet>()
    const supervision = new Map<string, Supervision>()
    const locks = new Map<string, Effect.Semaphore>()
    const latestRequested = new Map<string, string>()
    const stopping = yield* Ref.make(false)
    const policy = options.restartPolicy ?? DEFAULT_RESTART_POLICY
    // the runtime works below the data dir's real path; messages may carry either spelling
    const dataDir = path.dirname(options.artifactsDir)
    const realDataDir = yield* Effect.try(() => fs.realpathSync(dataDir)).pipe(Effect.orElseSucceed(() => dataDir))
    const scrub = (message: string) => scrubInternalPaths(scrubInternalPaths(message, realDataDir), dataDir)

    const lockOf = (serviceId: string) => {
      let lock = locks.get(serviceId)
      if (lock === undefined) {
        lock = Effect.unsafeMakeSemaphore(1)
        locks.set(serviceId, lock)
      }
      return lock
    }
    const serialized = <A, E, R>(serviceId: string, effect: Effect.Effect<A, E, R>) => lockOf(serviceId).withPermits(1)(effect)

    /** How the daemon log and failure hints name a service (`web`, `project/web`). */
    const refOf = (serviceId: string) =>
      Effect.gen(function* () {
        const service = yield* services.get(serviceId)
        const project = yield* projects.get(service.projectId)
        return serviceRef(service, project)
      }).pipe(Effect.orElseSucceed(() => serviceId))

    const publishSet = (serviceId: string, set: RunningSet | undefined) =>
      publisher.publish(
        serviceId,
        (set?.replicas ?? []).flatMap((r) => (r.replica.socketPath === null ? [] : [{ id: r.replica.id, socketPath: r.replica.socketPath }]))
      )

    /** Take a set out of traffic, wait for in-flight requests, stop it. */
    const retire = (serviceId: string, set: RunningSet) =>
      publisher.drain(serviceId, set.replicas.map((r) => r.replica.id)).pipe(Effect.zipRight(closeSet(set)))

    /** Operator-facing failure text: no internal paths, ends with where to look next. */
    const failureText = (serviceId: string, message: string) =>
      Effect.map(refOf(serviceId), (ref) => withLogsHint(scrub(message), ref))

    /**
     * A failed deployment. Failures of the image or workload point at the
     * service log; bookkeeping outcomes (superseded, aborted by a daemon
     * restart) have nothing there and keep their plain message.
     */
    const finishFailed = (deployment: Deployment, message: string, hint: "logs" | "none" = "logs") =>
      Effect.gen(function* () {
        const text = hint === "logs" ? yield* failureText(deployment.serviceId, message) : message
        yield* deployments.setStatus(deployment.id, "failed", { error: text })
        yield* log.append(deployment.id, "FAILED", text)
        yield* events.publish(DomainEvent.DeploymentFailed({ serviceId: deployment.serviceId, deploymentId: deployment.id, reason: text }))
        yield* Effect.logInfo(`deploy failed: service ${yield* refOf(deployment.serviceId)} deployment ${deployment.id}: ${text}`)
      })

    /** Acquire the image (pull, or reuse the bundle for redeploys of a known digest). */
    const imageFor = (service: Service, deployment: Deployment): Effect.Effect<PulledImage, DeployFailed> =>
      Effect.gen(function* () {
        if (deployment.imageDigest !== undefined) {
          const cached = yield* bundleOf(deployment.imageDigest).pipe(Effect.option)
          if (Option.isSome(cached)) {
            yield* log.append(deployment.id, "BUILDING", `reusing image ${deployment.imageDigest}`)
            return cached.value
          }
        }
        const reference = deployment.imageDigest !== undefined && !deployment.imageRef.includes("@") ? `${deployment.imageRef}@${deployment.imageDigest}` : deployment.imageRef
        return yield* acquireImage(service, reference, progressLogger(log, deployment.id))
      }).pipe(Effect.provide(context))

    /** One health-gated replica of `deployment` (a fresh deployment, or a restart of the live one). */
    const launchReplica = (service: Service, deployment: Deployment, pulled: PulledImage) =>
      Effect.gen(function* () {
        const project = yield* projects.get(service.projectId).pipe(Effect.orDie)
        return yield* launchHealthyReplica({
          service,
          project,
          deploymentId: deployment.id,
          pulled,
          nodeLimits: options.nodeLimits,
          parentScope: replicasScope,
          log: (phase: LogPhase, message: string) => log.append(deployment.id, phase, message)
        }).pipe(Effect.provide(context))
      })

    /** The pipeline of one deployment, run under the service lock. */
    const runPipeline = (deployment: Deployment) =>
      serialized(
        deployment.serviceId,
        Effect.gen(function* () {
          if (latestRequested.get(deployment.serviceId) !== deployment.id) {
            return yield* finishFailed(deployment, `superseded by deployment ${latestRequested.get(deployment.serviceId) ?? "?"}`, "none")
          }
          const service = yield* services.get(deployment.serviceId).pipe(Effect.orDie)
          const ref = yield* refOf(service.id)
          const startedAt = Date.now()
          const append = (phase: LogPhase, message: string) => log.append(deployment.id, phase, message)
          yield* Effect.logInfo(`deploy started: service ${ref} deployment ${deployment.id} (${deployment.trigger ?? "api"}) image ${deployment.imageRef}`)
          yield* deployments.setStatus(deployment.id, "building")
          yield* append("BUILDING", `acquiring ${deployment.imageRef}`)
          const pulled = yield* imageFor(service, deployment)
          yield* deployments.setStatus(deployment.id, "starting", { imageDigest: pulled.digest })
          yield* append("STARTING", `image ${pulled.digest}; launching ${pulled.manifest.args.join(" ") || "(no command)"}`)
          const replica = yield* launchReplica(service, deployment, pulled)
          const next: RunningSet = { deploymentId: deployment.id, replicas: [replica] }
          const previous = running.get(service.id)
          running.set(service.id, next)
          const sup: Supervision = { deploymentId: deployment.id, crashes: 0, lastExit: undefined, nextRestartAt: undefined }
          supervision.set(service.id, sup)
          yield* publishSet(service.id, next)
          yield* services.promote(service.id, deployment.id)
          yield* deployments.setStatus(deployment.id, "healthy")
          yield* events.publish(DomainEvent.DeploymentPromoted({ serviceId: service.id, deploymentId: deployment.id }))
          yield* append("HEALTHY", "promoted; receiving traffic")
          yield* Effect.logInfo(`deploy finished: service ${ref} deployment ${deployment.id} healthy after ${formatDuration(Date.now() - startedAt)} (${pulled.digest})`)
          if (previous !== undefined) {
            yield* retire(service.id, previous)
            yield* log.append(previous.deploymentId, "INFO", `replaced by deployment ${deployment.id}`)
          }
          yield* watchExits(service.id, next, sup)
          yield* FiberSet.run(fibers, collectOldBundles)
        }).pipe(
          Effect.catchTag("denia/deploy/DeployFailed", (e) => finishFailed(deployment, e.message)),
          Effect.catchAllDefect((d) =>
            Effect.logError("deployment pipeline defect", d).pipe(Effect.zipRight(finishFailed(deployment, "internal error (see daemon log)")))
          )
        )
      )

    /** Remove rootfs bundles no retained deployment needs (best effort). */
    const collectOldBundles = Effect.gen(function* () {
      const keep = yield* retainedDigests(services, deployments, options.retainedDeployments)
      const report = yield* collectBundles(options.artifactsDir, keep)
      if (report.removed.length > 0) yield* Effect.logInfo(`removed ${report.removed.length} unused image bundle(s)`)
    }).pipe(Effect.catchAllCause((c) => Effect.logWarning("bundle GC failed", c)))

    /** The supervision is still the live one of the service (not replaced, not stopped). */
    const current = (serviceId: string, sup: Supervision) => Effect.map(Ref.get(stopping), (s) => !s && supervision.get(serviceId) === sup)

    /**
     * The live deployment's workload ended on its own (or a restart of it did
     * not pass its health gate): record it on the deployment and schedule the
     * next restart with exponential backoff. Never a new deployment.
     */
    const onCrash = (serviceId: string, sup: Supervision, reason: string, upMs: number) =>
      Effect.gen(function* () {
        sup.crashes = nextCrashCount(policy, sup.crashes, upMs)
        sup.lastExit = scrub(reason)
        const delay = restartDelayMs(policy, sup.crashes)
        sup.nextRestartAt = new Date(Date.now() + delay)
        yield* deployments.recordRestart(sup.deploymentId, sup.lastExit)
        const restarts = Option.match(yield* deployments.find(sup.deploymentId), { onNone: () => 0, onSome: (d) => d.restartCount ?? 0 })
        yield* log.append(sup.deploymentId, "FAILED", `${sup.lastExit}; restart ${restarts} in ${formatDuration(delay)}`)
        yield* Effect.logInfo(
          `replica crashed: service ${yield* refOf(serviceId)} deployment ${sup.deploymentId}: ${sup.lastExit}; restart ${restarts} in ${formatDuration(delay)}`
        )
        yield* FiberSet.run(fibers, Effect.sleep(delay).pipe(Effect.zipRight(restartLive(serviceId, sup))))
      })

    /** Relaunch the live deployment's replica in place (after a crash, or at daemon start). */
    const restartLive = (serviceId: string, sup: Supervision): Effect.Effect<void> =>
      Effect.gen(function* () {
        const outcome = yield* serialized(
          serviceId,
          Effect.gen(function* () {
            if (!(yield* current(serviceId, sup)) || running.has(serviceId)) return Either.right(undefined)
            sup.nextRestartAt = undefined
            const service = yield* services.get(serviceId).pipe(Effect.orDie)
            if (service.promotedDeploymentId !== sup.deploymentId) return Either.right(undefined)
            const deployment = yield* deployments.get(sup.deploymentId).pipe(Effect.orDie)
            yield* log.append(deployment.id, "STARTING", "relaunching the replica")
            const launched = yield* imageFor(service, deployment).pipe(
              Effect.flatMap((pulled) => launchReplica(service, deployment, pulled)),
              Effect.either
            )
            if (Either.isLeft(launched)) return Either.left(launched.left.message)
            const replica: RunningReplica = launched.right
            if (!(yield* current(serviceId, sup))) {
              yield* closeSet({ deploymentId: deployment.id, replicas: [replica] })
              return Either.right(undefined)
            }
            const set: RunningSet = { deploymentId: deployment.id, replicas: [replica] }
            running.set(serviceId, set)
            yield* publishSet(serviceId, set)
            yield* log.append(deployment.id, "HEALTHY", "replica relaunched; receiving traffic")
            yield* watchExits(serviceId, set, sup)
            return Either.right(undefined)
          })
        )
        if (Either.isLeft(outcome) && (yield* current(serviceId, sup))) yield* onCrash(serviceId, sup, outcome.left, 0)
      }).pipe(Effect.catchAllDefect((d) => Effect.logError("replica restart defect", d)))

    /** A replica that exits on its own is taken out of traffic; its deployment restarts it with backoff. */
    const watchExits = (serviceId: string, set: RunningSet, sup: Supervision): Effect.Effect<void> =>
      Effect.forEach(
        set.replicas,
        (r) =>
          FiberSet.run(
            fibers,
            Effect.gen(function* () {
              const status = yield* r.replica.exit
              const upMs = Date.now() - r.replica.startedAt.getTime()
              if ((yield* Ref.get(stopping)) || running.get(serviceId) !== set) return
              const taken = yield* serialized(
                serviceId,
                Effect.gen(function* () {
                  if (running.get(serviceId) !== set) return false
                  running.delete(serviceId)
                  yield* publishSet(serviceId, undefined)
                  yield* closeSet(set)
                  return true
                })
              )
              if (taken && (yield* current(serviceId, sup))) yield* onCrash(serviceId, sup, exitReason(status, upMs), upMs)
            })
          ),
        { discard: true }
      )

    /** Queue a new deployment that reuses an existing deployment's image. */
    const relaunch = (source: Deployment, trigger: DeploymentTrigger, reason: string) =>
      Effect.gen(function* () {
        const deployment = yield* deployments.create(source.serviceId, source.imageRef, source.imageDigest, trigger)
        yield* log.append(deployment.id, "PENDING", `${reason}: image of deployment ${source.id}`)
        latestRequested.set(source.serviceId, deployment.id)
        yield* FiberSet.run(fibers, runPipeline(deployment))
        return deployment
      })

    const deploy = (serviceId: string, imageOverride: string | undefined, trigger: DeploymentTrigger = "api") =>
      Effect.gen(function* () {
        const service = yield* services.get(serviceId)
        const project = yield* projects.get(service.projectId)
        const reference = yield* imageReferenceOf(service, project, imageOverride, options.hosted).pipe(
          Effect.mapError((e) => new ActionConflict({ message: e.message }))
        )
        const deployment = yield* deployments.create(serviceId, reference, undefined, trigger)
        yield* log.append(deployment.id, "PENDING", `deployment of ${reference} queued`)
        latestRequested.set(serviceId, deployment.id)
        yield* FiberSet.run(fibers, runPipeline(deployment))
        return deployment
      })

    /** Stop: out of traffic, replicas stopped, promoted pointer cleared (durable). */
    const stopService = (serviceId: string) =>
      serialized(
        serviceId,
        Effect.gen(function* () {
          const service = yield* services.get(serviceId)
          latestRequested.delete(serviceId)
          supervision.delete(serviceId)
          // The durable intent first, then the workload.
          yield* services.clearPromoted(serviceId)
          if (service.promotedDeploymentId !== null) {
            yield* deployments.setStatus(service.promotedDeploymentId, "stopped")
            yield* log.append(service.promotedDeploymentId, "STOPPED", "stopped by an operator")
          }
          const set = running.get(serviceId)
          running.delete(serviceId)
          yield* publishSet(serviceId, undefined)
          if (set !== undefined) yield* retire(serviceId, set)
          yield* events.publish(DomainEvent.ServiceStopped({ serviceId }))
        })
      )

    const action = (serviceId: string, kind: ServiceAction): Effect.Effect<Deployment | undefined, NotFound | ActionConflict> =>
      Effect.gen(function* () {
        const service = yield* services.get(serviceId)
        switch (kind) {
          case "stop":
            yield* FiberSet.run(fibers, stopService(serviceId).pipe(Effect.catchAll(() => Effect.void)))
            return undefined
          case "restart": {
            if (service.promotedDeploymentId === null) return yield* new ActionConflict({ message: "the service is not running; use start" })
            return yield* relaunch(yield* deployments.get(service.promotedDeploymentId), "restart", "restart")
          }
          case "start": {
            if (service.promotedDeploymentId !== null && running.has(serviceId)) {
              return yield* new ActionConflict({ message: "the service is already running; use restart" })
            }
            const target = yield* deployments.latestRunnable(serviceId)
            if (Option.isNone(target)) return yield* new ActionConflict({ message: "nothing to start: no deployment of this service ever became healthy; deploy first" })
            return yield* relaunch(target.value, "start", "start")
          }
          case "rollback": {
            const target = yield* rollbackTarget(deployments, service)
            if (Option.isNone(target)) return yield* new ActionConflict({ message: "no previous deployment with a different image to roll back to" })
            return yield* relaunch(target.value, "rollback", "rollback")
          }
        }
      })

    /** Boot: fail what a crash left in flight, sweep leftovers, restart promoted deployments in place. */
    const boot = Effect.gen(function* () {
      for (const d of yield* deployments.listInFlight) yield* finishFailed(d, ABORTED, "none")
      const swept = yield* runtime.sweepOrphans.pipe(Effect.either)
      if (Either.isRight(swept)) {
        const r = swept.right
        yield* Effect.logInfo(`sweep: removed ${r.replicasRemoved} leftover replica(s), killed ${r.processesKilled} process(es), removed ${r.cgroupsRemoved} cgroup(s)`)
      } else yield* Effect.logWarning(`sweep failed: ${swept.left.message}`)
      for (const s of yield* services.list({})) {
        if (s.promotedDeploymentId === null) continue
        const promoted = yield* deployments.find(s.promotedDeploymentId)
        if (Option.isNone(promoted)) continue
        const sup: Supervision = { deploymentId: promoted.value.id, crashes: 0, lastExit: undefined, nextRestartAt: undefined }
        supervision.set(s.id, sup)
        yield* deployments.recordRestart(sup.deploymentId, undefined)
        yield* log.append(sup.deploymentId, "INFO", "daemon started: relaunching the promoted deployment")
        yield* FiberSet.run(fibers, restartLive(s.id, sup))
      }
    })

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        yield* Ref.set(stopping, true)
        const sets = [...running.values()]
        running.clear()
        supervision.clear()
        yield* Effect.forEach(sets, closeSet, { concurrency: "unbounded", discard: true })
        yield* Effect.logInfo(`shutdown: stopped ${sets.reduce((n, set) => n + set.replicas.length, 0)} replica(s) of ${sets.length} service(s)`)
      })
    )

    const isRunning = (serviceId: string) => Effect.sync(() => running.get(serviceId)?.deploymentId)

    /** The service with its live `status` filled in (for read responses). */
    const withStatus = (service: Service): Effect.Effect<Service> =>
      Effect.gen(function* () {
        const live = service.promotedDeploymentId === null ? undefined : Option.getOrUndefined(yield* deployments.find(service.promotedDeploymentId))
        const latest = Option.getOrUndefined(yield* deployments.latestForService(service.id))
        const set = running.get(service.id)
        const sup = supervision.get(service.id)
        const status: ServiceStatus = deriveStatus({
          service,
          live,
          latest,
          readyReplicas: set !== undefined && set.deploymentId === service.promotedDeploymentId ? set.replicas.length : 0,
          crash: sup !== undefined && sup.deploymentId === service.promotedDeploymentId ? sup : undefined,
          pendingChanges: live === undefined ? false : yield* pendingChanges({ services, projects, secrets: secretsRepo }, service, live)
        })
        return { ...service, status }
      })

    return { deploy, action, stopService, boot, isRunning, withStatus }
  })

export type CoordinatorApi = Effect.Effect.Success<ReturnType<typeof make>>

export class Coordinator extends Context.Tag("denia/deploy/Coordinator")<Coordinator, CoordinatorApi>() {
  static readonly layer = (options: CoordinatorOptions) =>
    Layer.scoped(
      Coordinator,
      Effect.gen(function* () {
        const coordinator = yield* make(options)
        yield* coordinator.boot
        return coordinator
      })
    )
}
