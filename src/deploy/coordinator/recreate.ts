/**
 * The `recreate` strategy (SPEC §12b, ADR 0901): a service with volumes
 * never runs two replicas on the same data, so a new deployment first stops
 * the live one, then starts and health-gates its own replica. When the new
 * one fails, the previous deployment is started again on the same data and
 * the deployment log says so; if even that fails, crash supervision retries
 * it with backoff. Runs inside the pipeline, under the service lock.
 */
import { Effect, Either } from "effect"
import type { Deployment } from "../../domain/deployment.js"
import type { Service } from "../../domain/service.js"
import type { RunningSet } from "../replicaSet.js"
import { DESIRED_REPLICAS } from "./state.js"
import type { Supervisor } from "./supervision.js"
import type { Toolkit } from "./toolkit.js"

export type DeployStrategy = "rolling" | "recreate"

/** Volumes mean one replica on the data at a time. */
export const strategyOf = (service: Service): DeployStrategy => (service.volumes.length > 0 ? "recreate" : "rolling")

export const makeRecreate = (t: Toolkit, supervisor: Supervisor) => {
  const { deployments, log, services, state } = t

  /** Takes the live set out of traffic and stops it; returns what was stopped (undefined when nothing ran). */
  const stopLive = (deployment: Deployment) =>
    Effect.gen(function*() {
      const serviceId = deployment.serviceId
      const set = yield* state.takeReplicaSet(serviceId)
      if (set === undefined) return undefined
      yield* log.append(
        deployment.id,
        "STARTING",
        `recreate: stopping deployment ${set.deploymentId} first (the service has volumes: one replica on the data at a time)`
      )
      yield* t.publishSet(serviceId, undefined)
      yield* t.retire(serviceId, set)
      yield* log.append(set.deploymentId, "INFO", `stopped for deployment ${deployment.id} (recreate)`)
      return set
    })

  /** The new deployment failed after `stopped` was stopped: start that deployment again, on the same data. */
  const restorePrevious = (deployment: Deployment, stopped: RunningSet, reason: string) =>
    Effect.gen(function*() {
      const serviceId = deployment.serviceId
      yield* log.append(
        deployment.id,
        "INFO",
        `recreate: this deployment failed (${
          t.scrub(reason)
        }); starting the previous deployment ${stopped.deploymentId} again on the same data`
      )
      const service = yield* services.get(serviceId).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
      const previous = yield* deployments.get(stopped.deploymentId).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
      const launched = yield* t.imageFor(service, previous).pipe(
        Effect.flatMap((pulled) => t.launchReplicas(service, previous, pulled, DESIRED_REPLICAS)),
        Effect.either
      )
      if (Either.isLeft(launched)) {
        yield* log.append(
          deployment.id,
          "INFO",
          `recreate: the previous deployment ${previous.id} did not start again (${
            t.scrub(launched.left.message)
          }); crash restarts retry it`
        )
        const sup = yield* state.supervision(serviceId)
        if (sup !== undefined && sup.deploymentId === previous.id) yield* t.spawn(supervisor.restartLive(serviceId, sup))
        return
      }
      const set: RunningSet = { deploymentId: previous.id, replicas: launched.right }
      const { supervision } = yield* state.promote(serviceId, set)
      yield* t.publishSet(serviceId, set)
      yield* log.append(deployment.id, "INFO", `recreate: the previous deployment ${previous.id} is healthy again and serving`)
      yield* log.append(previous.id, "HEALTHY", `started again after deployment ${deployment.id} failed; receiving traffic`)
      yield* supervisor.watch(serviceId, launched.right, supervision)
    }).pipe(
      Effect.catchTag("denia/db/DatabaseError", (e) => Effect.logError("recreate: bringing the previous deployment back failed", e))
    )

  return { stopLive, restorePrevious }
}
