/**
 * Operator requests: deploy, and the lifecycle actions stop, start, restart
 * and rollback. Every action except stop is a new deployment that reuses an
 * existing deployment's image and goes through the same pipeline (ADR 0007).
 */
import { Effect, Option } from "effect"
import type { DatabaseError } from "../../db/errors.js"
import type { Deployment, DeploymentTrigger } from "../../domain/deployment.js"
import type { NotFound } from "../../domain/errors.js"
import { ActionConflict } from "../errors.js"
import { rollbackTarget } from "../history.js"
import { imageReferenceOf } from "../imageSource.js"
import type { RunPipeline } from "./pipeline.js"
import type { Toolkit } from "./toolkit.js"

export type ServiceAction = "stop" | "start" | "restart" | "rollback"

export interface DeployOptions {
  /** Git sources: the branch, tag or commit to build instead of the source's `ref`. */
  readonly gitRef?: string | undefined
}

export const makeActions = (t: Toolkit, runPipeline: RunPipeline) => {
  const { deployments, log, services, state } = t

  /** Queue `deployment`: it supersedes whatever the service has queued, and its pipeline starts in the background. */
  const enqueue = (deployment: Deployment) =>
    Effect.zipRight(state.requested(deployment.serviceId, deployment.id), t.spawn(runPipeline(deployment)))

  /** Queue a new deployment that reuses an existing deployment's image. */
  const relaunch = (source: Deployment, trigger: DeploymentTrigger, reason: string) =>
    Effect.gen(function*() {
      const deployment = yield* deployments.create(source.serviceId, source.imageRef, source.imageDigest, trigger, {
        ref: source.gitRef,
        commitSha: source.commitSha
      })
      yield* log.append(deployment.id, "PENDING", `${reason}: image of deployment ${source.id}`)
      yield* enqueue(deployment)
      return deployment
    })

  const deploy = (serviceId: string, imageOverride: string | undefined, trigger: DeploymentTrigger = "api", options: DeployOptions = {}) =>
    Effect.gen(function*() {
      const service = yield* services.get(serviceId)
      const project = yield* t.projects.get(service.projectId)
      const reference = yield* imageReferenceOf(service, project, imageOverride, t.options.hosted).pipe(
        Effect.mapError((e) => new ActionConflict({ message: e.message }))
      )
      // a Git source builds the ref asked for (auto-deploy: the branch or tag it saw), else the source's own
      const gitRef = service.source.type === "git" && imageOverride === undefined ? options.gitRef ?? service.source.ref : undefined
      const deployment = yield* deployments.create(serviceId, reference, undefined, trigger, { ref: gitRef })
      yield* log.append(
        deployment.id,
        "PENDING",
        gitRef !== undefined ? `deployment of git ref ${gitRef} queued` : `deployment of ${reference} queued`
      )
      yield* enqueue(deployment)
      return deployment
    })

  /** Stop: out of traffic, replicas stopped, promoted pointer cleared (durable). */
  const stopService = (serviceId: string) =>
    t.serialized(
      serviceId,
      Effect.gen(function*() {
        const service = yield* services.get(serviceId)
        yield* state.forget(serviceId)
        // The durable intent first, then the workload.
        yield* services.clearPromoted(serviceId)
        if (service.promotedDeploymentId !== null) {
          yield* deployments.setStatus(service.promotedDeploymentId, "stopped")
          yield* log.append(service.promotedDeploymentId, "STOPPED", "stopped by an operator")
        }
        const set = yield* state.takeReplicaSet(serviceId)
        yield* t.publishSet(serviceId, undefined)
        if (set !== undefined) yield* t.retire(serviceId, set)
        yield* t.notices.serviceStopped(serviceId)
      })
    )

  const action = (
    serviceId: string,
    kind: ServiceAction
  ): Effect.Effect<Deployment | undefined, NotFound | ActionConflict | DatabaseError> =>
    Effect.gen(function*() {
      const service = yield* services.get(serviceId)
      switch (kind) {
        case "stop":
          yield* t.spawn(
            stopService(serviceId).pipe(
              // Deleted meanwhile: nothing left to stop.
              Effect.catchTag("denia/domain/NotFound", () => Effect.void),
              Effect.catchTag("denia/db/DatabaseError", (e) => Effect.logError("stop service: database failure", e))
            )
          )
          return undefined
        case "restart": {
          if (service.promotedDeploymentId === null) return yield* new ActionConflict({ message: "the service is not running; use start" })
          return yield* relaunch(yield* deployments.get(service.promotedDeploymentId), "restart", "restart")
        }
        case "start": {
          if (service.promotedDeploymentId !== null && (yield* state.replicaSet(serviceId)) !== undefined) {
            return yield* new ActionConflict({ message: "the service is already running; use restart" })
          }
          const target = yield* deployments.latestRunnable(serviceId)
          if (Option.isNone(target)) {
            return yield* new ActionConflict({
              message: "nothing to start: no deployment of this service ever became healthy; deploy first"
            })
          }
          return yield* relaunch(target.value, "start", "start")
        }
        case "rollback": {
          const target = yield* rollbackTarget(deployments, service)
          if (Option.isNone(target)) {
            return yield* new ActionConflict({ message: "no previous deployment with a different image to roll back to" })
          }
          return yield* relaunch(target.value, "rollback", "rollback")
        }
      }
    })

  return { deploy, action, stopService }
}
