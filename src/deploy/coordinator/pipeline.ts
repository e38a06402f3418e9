/**
 * The pipeline of one deployment (ADR 0007): building (acquire the image) →
 * starting (launch the replica set) → health gate → promote (publish the new
 * set, move the pointer, retire the old set). Runs under the service lock;
 * a deployment that is no longer the newest requested ends superseded. On
 * failure the previous deployment keeps serving.
 */
import { Effect } from "effect"
import type { Deployment } from "../../domain/deployment.js"
import type { PulledImage } from "../../oci/index.js"
import { collectBundles, retainedDigests } from "../bundleGc.js"
import type { LogPhase } from "../DeploymentLog.js"
import type { RunningSet } from "../replicaSet.js"
import { formatDuration } from "../restartPolicy.js"
import { makeRecreate, strategyOf } from "./recreate.js"
import { DESIRED_REPLICAS } from "./state.js"
import type { Supervisor } from "./supervision.js"
import type { Toolkit, WorkloadServices } from "./toolkit.js"

export type RunPipeline = (deployment: Deployment) => Effect.Effect<void, never, WorkloadServices>

export const makePipeline = (t: Toolkit, supervisor: Supervisor): RunPipeline => {
  const { deployments, log, services, state } = t
  const recreate = makeRecreate(t, supervisor)

  /** Remove rootfs bundles no retained deployment needs (best effort). */
  const collectOldBundles = Effect.gen(function*() {
    const keep = yield* retainedDigests(services, deployments, t.options.retainedDeployments)
    const report = yield* collectBundles(t.options.artifactsDir, keep)
    if (report.removed.length > 0) yield* Effect.logInfo(`removed ${report.removed.length} unused image bundle(s)`)
  }).pipe(Effect.catchAllCause((c) => Effect.logWarning("bundle GC failed", c)))

  /**
   * The healthy set of `deployment` takes over — the one place a deployment
   * is promoted: into traffic, the service's pointer moves (the old one
   * becomes the rollback target), then the previous set is drained and
   * stopped and the new one supervised.
   */
  const promote = (deployment: Deployment, pulled: PulledImage, next: RunningSet, ref: string, startedAt: number) =>
    Effect.gen(function*() {
      const serviceId = deployment.serviceId
      const { previous, supervision } = yield* state.promote(serviceId, next)
      yield* t.publishSet(serviceId, next)
      yield* services.promote(serviceId, deployment.id)
      yield* deployments.setStatus(deployment.id, "healthy")
      yield* t.notices.deploymentPromoted(serviceId, deployment.id)
      yield* log.append(deployment.id, "HEALTHY", "promoted; receiving traffic")
      yield* Effect.logInfo(
        `deploy finished: service ${ref} deployment ${deployment.id} healthy after ${
          formatDuration(Date.now() - startedAt)
        } (${pulled.digest})`
      )
      if (previous !== undefined) {
        yield* t.retire(serviceId, previous)
        yield* log.append(previous.deploymentId, "INFO", `replaced by deployment ${deployment.id}`)
      }
      yield* supervisor.watch(serviceId, next.replicas, supervision)
    })

  return (deployment) =>
    t.serialized(
      deployment.serviceId,
      Effect.gen(function*() {
        const latest = yield* state.latestRequested(deployment.serviceId)
        if (latest !== deployment.id) return yield* t.finishFailed(deployment, `superseded by deployment ${latest ?? "?"}`, "none")
        const service = yield* services.get(deployment.serviceId).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
        const ref = yield* t.refOf(service.id)
        const startedAt = Date.now()
        const append = (phase: LogPhase, message: string) => log.append(deployment.id, phase, message)
        yield* Effect.logInfo(
          `deploy started: service ${ref} deployment ${deployment.id} (${deployment.trigger ?? "api"}) image ${deployment.imageRef}`
        )
        yield* deployments.setStatus(deployment.id, "building")
        yield* append("BUILDING", `acquiring ${deployment.imageRef}`)
        const pulled = yield* t.imageFor(service, deployment)
        yield* deployments.setStatus(deployment.id, "starting", { imageDigest: pulled.digest })
        yield* append("STARTING", `image ${pulled.digest}; launching ${pulled.manifest.args.join(" ") || "(no command)"}`)
        // recreate (volumes): the live replica stops before the new one starts; a failure brings it back
        const stopped = strategyOf(service) === "recreate" ? yield* recreate.stopLive(deployment) : undefined
        const replicas = yield* t.launchReplicas(service, deployment, pulled, DESIRED_REPLICAS).pipe(
          Effect.tapError((e) => (stopped === undefined ? Effect.void : recreate.restorePrevious(deployment, stopped, e.message)))
        )
        yield* promote(deployment, pulled, { deploymentId: deployment.id, replicas }, ref, startedAt)
        yield* t.spawn(collectOldBundles)
      }).pipe(
        Effect.catchTag("denia/deploy/DeployFailed", (e) => t.finishFailed(deployment, e.message)),
        Effect.catchTag("denia/db/DatabaseError", (e) =>
          Effect.logError("deployment pipeline: database failure", e).pipe(
            Effect.zipRight(t.finishFailed(deployment, "internal error (see daemon log)"))
          )),
        Effect.catchAllDefect((d) =>
          Effect.logError("deployment pipeline defect", d).pipe(
            Effect.zipRight(t.finishFailed(deployment, "internal error (see daemon log)"))
          )
        ),
        // Recording the failure itself hit the database failure: log it, the fiber ends.
        Effect.catchTag("denia/db/DatabaseError", (e) => Effect.logError("deployment pipeline: recording the failure failed", e))
      )
    )
}
