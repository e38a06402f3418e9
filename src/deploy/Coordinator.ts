/**
 * The deployment coordinator: owns the running replica sets of every service
 * (scoped under the daemon), runs deploy pipelines in background fibers
 * (serialized per service, latest request wins), and performs stop, start,
 * restart and rollback. Desired state is the promoted-deployment pointer in
 * SQLite; daemon shutdown stops replicas without touching it.
 */
import { Context, Effect, FiberSet, Layer, Option, Ref } from "effect"
import type { Deployment } from "../domain/deployment.js"
import type { NotFound } from "../domain/errors.js"
import type { EffectiveLimits } from "../domain/limits.js"
import type { Service } from "../domain/service.js"
import type { PulledImage, PullProgress } from "../oci/index.js"
import { OciService } from "../oci/index.js"
import { DeploymentsRepo } from "../repos/DeploymentsRepo.js"
import { ProjectsRepo } from "../repos/ProjectsRepo.js"
import { ServicesRepo } from "../repos/ServicesRepo.js"
import { Runtime } from "../runtime/index.js"
import { HostedPulls } from "../registry/hostedPulls.js"
import { Registries } from "../secrets/registries.js"
import { ServiceSecrets } from "../secrets/serviceSecrets.js"
import { DeploymentLog, type LogPhase } from "./DeploymentLog.js"
import { ActionConflict, DeployFailed } from "./errors.js"
import { acquireImage, bundleOf, imageReferenceOf, type HostedRegistryAccess } from "./imageSource.js"
import { collectBundles, retainedDigests, servingDigests } from "./bundleGc.js"
import { closeSet, launchHealthyReplica, type RunningSet } from "./replicaSet.js"
import { ReplicaPublisher } from "./ReplicaPublisher.js"

export interface CoordinatorOptions {
  readonly hosted: HostedRegistryAccess
  readonly nodeLimits: EffectiveLimits
  /** `<data_dir>/artifacts`, where rootfs bundles live. */
  readonly artifactsDir: string
  /** Deployments per service whose bundles are kept (`deployments_retained`). */
  readonly retainedDeployments: number
}

export type ServiceAction = "stop" | "start" | "restart" | "rollback"

const ABORTED = "daemon restarted; deployment aborted"

const make = (options: CoordinatorOptions) =>
  Effect.gen(function* () {
    const services = yield* ServicesRepo
    const projects = yield* ProjectsRepo
    const deployments = yield* DeploymentsRepo
    const log = yield* DeploymentLog
    const publisher = yield* ReplicaPublisher
    const runtime = yield* Runtime
    const context = yield* Effect.context<OciService | Runtime | ServiceSecrets | Registries | HostedPulls>()
    const daemonScope = yield* Effect.scope
    const fibers = yield* FiberSet.make<unknown, never>()
    const running = new Map<string, RunningSet>()
    const locks = new Map<string, Effect.Semaphore>()
    const latestRequested = new Map<string, string>()
    const stopping = yield* Ref.make(false)
    const oci = yield* OciService

    /** Layer-cache GC keeps the images of promoted and rollback-target deployments. */
    yield* oci.setPinnedSource(Effect.map(servingDigests(services, deployments), (set) => [...set]))

    const lockOf = (serviceId: string) => {
      let lock = locks.get(serviceId)
      if (lock === undefined) {
        lock = Effect.unsafeMakeSemaphore(1)
        locks.set(serviceId, lock)
      }
      return lock
    }
    const serialized = <A, E, R>(serviceId: string, effect: Effect.Effect<A, E, R>) => lockOf(serviceId).withPermits(1)(effect)

    const publishSet = (serviceId: string, set: RunningSet | undefined) =>
      publisher.publish(
        serviceId,
        (set?.replicas ?? []).flatMap((r) => (r.replica.socketPath === null ? [] : [{ id: r.replica.id, socketPath: r.replica.socketPath }]))
      )

    /** Take a set out of traffic, wait for in-flight requests, stop it. */
    const retire = (serviceId: string, set: RunningSet) =>
      publisher.drain(serviceId, set.replicas.map((r) => r.replica.id)).pipe(Effect.zipRight(closeSet(set)))

    const finishFailed = (deployment: Deployment, message: string) =>
      deployments.setStatus(deployment.id, "failed", { error: message }).pipe(Effect.zipRight(log.append(deployment.id, "FAILED", message)))

    const progressLogger = (deploymentId: string) => {
      let lastPhase = ""
      let lastLayers = -1
      return (p: PullProgress) => {
        const line =
          p.phase !== lastPhase
            ? `${p.phase} ${p.reference} (${p.layersTotal} layers, ${p.bytesTotal} bytes)`
            : p.layersDone !== lastLayers
              ? `layer ${p.layersDone}/${p.layersTotal} unpacked (${p.bytesDone}/${p.bytesTotal} bytes)`
              : undefined
        lastPhase = p.phase
        lastLayers = p.layersDone
        if (line !== undefined) Effect.runFork(log.append(deploymentId, "BUILDING", line))
      }
    }

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
        return yield* acquireImage(service, reference, progressLogger(deployment.id))
      }).pipe(Effect.provide(context))

    /** The pipeline of one deployment, run under the service lock. */
    const runPipeline = (deployment: Deployment) =>
      serialized(
        deployment.serviceId,
        Effect.gen(function* () {
          if (latestRequested.get(deployment.serviceId) !== deployment.id) {
            return yield* finishFailed(deployment, `superseded by deployment ${latestRequested.get(deployment.serviceId) ?? "?"}`)
          }
          const service = yield* services.get(deployment.serviceId).pipe(Effect.orDie)
          const project = yield* projects.get(service.projectId).pipe(Effect.orDie)
          const append = (phase: LogPhase, message: string) => log.append(deployment.id, phase, message)
          yield* deployments.setStatus(deployment.id, "building")
          yield* append("BUILDING", `acquiring ${deployment.imageRef}`)
          const pulled = yield* imageFor(service, deployment)
          yield* deployments.setStatus(deployment.id, "starting", { imageDigest: pulled.digest })
          yield* append("STARTING", `image ${pulled.digest}; launching ${pulled.manifest.args.join(" ") || "(no command)"}`)
          const replica = yield* launchHealthyReplica({
            service,
            project,
            deploymentId: deployment.id,
            pulled,
            nodeLimits: options.nodeLimits,
            parentScope: daemonScope,
            log: append
          }).pipe(Effect.provide(context))
          const next: RunningSet = { deploymentId: deployment.id, replicas: [replica] }
          const previous = running.get(service.id)
          running.set(service.id, next)
          yield* publishSet(service.id, next)
          yield* services.promote(service.id, deployment.id)
          yield* deployments.setStatus(deployment.id, "healthy")
          yield* append("HEALTHY", "promoted; receiving traffic")
          if (previous !== undefined) {
            yield* retire(service.id, previous)
            yield* log.append(previous.deploymentId, "INFO", `replaced by deployment ${deployment.id}`)
          }
          yield* watchExits(service.id, next)
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

    /** A replica that exits on its own is taken out of traffic and relaunched with backoff. */
    const watchExits = (serviceId: string, set: RunningSet): Effect.Effect<void> =>
      Effect.forEach(
        set.replicas,
        (r) =>
          FiberSet.run(
            fibers,
            Effect.gen(function* () {
              const status = yield* r.replica.exit
              if ((yield* Ref.get(stopping)) || running.get(serviceId) !== set) return
              yield* log.append(set.deploymentId, "FAILED", `replica ${r.replica.replica} exited unexpectedly (${status.code !== null ? `code ${status.code}` : `signal ${status.signal}`}); relaunching`)
              yield* serialized(
                serviceId,
                Effect.gen(function* () {
                  if (running.get(serviceId) !== set) return
                  running.delete(serviceId)
                  yield* publishSet(serviceId, undefined)
                  yield* closeSet(set)
                })
              )
              yield* Effect.sleep("1 second")
              const deployment = yield* deployments.get(set.deploymentId).pipe(Effect.orDie)
              yield* relaunch(deployment, "restart after crash").pipe(Effect.catchAll(() => Effect.void))
            })
          ),
        { discard: true }
      )

    /** Queue a new deployment that reuses an existing deployment's image. */
    const relaunch = (source: Deployment, reason: string) =>
      Effect.gen(function* () {
        const deployment = yield* deployments.create(source.serviceId, source.imageRef, source.imageDigest)
        yield* log.append(deployment.id, "PENDING", `${reason}: image of deployment ${source.id}`)
        latestRequested.set(source.serviceId, deployment.id)
        yield* FiberSet.run(fibers, runPipeline(deployment))
        return deployment
      })

    const deploy = (serviceId: string, imageOverride: string | undefined) =>
      Effect.gen(function* () {
        const service = yield* services.get(serviceId)
        const project = yield* projects.get(service.projectId)
        const reference = yield* imageReferenceOf(service, project, imageOverride, options.hosted).pipe(
          Effect.mapError((e) => new ActionConflict({ message: e.message }))
        )
        const deployment = yield* deployments.create(serviceId, reference)
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
            return yield* relaunch(yield* deployments.get(service.promotedDeploymentId), "restart")
          }
          case "start": {
            if (service.promotedDeploymentId !== null && running.has(serviceId)) {
              return yield* new ActionConflict({ message: "the service is already running; use restart" })
            }
            const target = yield* deployments.latestRunnable(serviceId)
            if (Option.isNone(target)) return yield* new ActionConflict({ message: "nothing to start: no deployment of this service ever became healthy; deploy first" })
            return yield* relaunch(target.value, "start")
          }
          case "rollback": {
            if (service.previousDeploymentId === null) return yield* new ActionConflict({ message: "no previous deployment to roll back to" })
            return yield* relaunch(yield* deployments.get(service.previousDeploymentId), "rollback")
          }
        }
      })

    /** Boot: fail what a crash left in flight, sweep leftovers, bring promoted services back. */
    const boot = Effect.gen(function* () {
      for (const d of yield* deployments.listInFlight) yield* finishFailed(d, ABORTED)
      const swept = yield* runtime.sweepOrphans.pipe(Effect.catchAll((e) => Effect.logWarning(`sweep failed: ${e.message}`).pipe(Effect.as(undefined))))
      if (swept !== undefined && swept.replicasRemoved > 0) yield* Effect.logInfo(`swept ${swept.replicasRemoved} leftover replica(s)`)
      const all = yield* services.list({})
      for (const s of all) {
        if (s.promotedDeploymentId === null) continue
        const promoted = yield* deployments.get(s.promotedDeploymentId).pipe(Effect.option)
        if (Option.isSome(promoted)) yield* relaunch(promoted.value, "daemon start")
      }
    })

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        yield* Ref.set(stopping, true)
        const sets = [...running.values()]
        running.clear()
        yield* Effect.forEach(sets, closeSet, { concurrency: "unbounded", discard: true })
      })
    )

    const isRunning = (serviceId: string) => Effect.sync(() => running.get(serviceId)?.deploymentId)

    return { deploy, action, stopService, boot, isRunning }
  })

export type CoordinatorApi = Effect.Effect.Success<ReturnType<typeof make>>

export class Coordinator extends Context.Tag("denia/Coordinator")<Coordinator, CoordinatorApi>() {
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
