/** Read-side questions about a service's workload: which deployment runs, and its live `status`. */
import { Effect, Option } from "effect"
import type { DatabaseError } from "../../db/errors.js"
import type { Service } from "../../domain/service.js"
import type { ServiceStatus } from "../../domain/serviceStatus.js"
import { pendingChanges } from "../history.js"
import { deriveStatus } from "../serviceStatus.js"
import type { Toolkit } from "./toolkit.js"

export const makeStatusQueries = (t: Toolkit) => {
  const { deployments, state } = t

  /** The deployment whose replicas run now (undefined when none runs). */
  const isRunning = (serviceId: string) => Effect.map(state.replicaSet(serviceId), (set) => set?.deploymentId)

  /** The service with its live `status` filled in (for read responses). */
  const withStatus = (service: Service): Effect.Effect<Service, DatabaseError> =>
    Effect.gen(function*() {
      const live = service.promotedDeploymentId === null
        ? undefined
        : Option.getOrUndefined(yield* deployments.find(service.promotedDeploymentId))
      const latest = Option.getOrUndefined(yield* deployments.latestForService(service.id))
      const { replicaSet: set, supervision: sup } = yield* state.slotOf(service.id)
      const status: ServiceStatus = deriveStatus({
        service,
        live,
        latest,
        readyReplicas: set !== undefined && set.deploymentId === service.promotedDeploymentId ? set.replicas.length : 0,
        crash: sup !== undefined && sup.deploymentId === service.promotedDeploymentId ? sup : undefined,
        pendingChanges: live === undefined
          ? false
          : yield* pendingChanges({ services: t.services, projects: t.projects, secrets: t.secretsRepo }, service, live)
      })
      return { ...service, status }
    })

  return { isRunning, withStatus }
}
