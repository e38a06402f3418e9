/** Questions about a service's deployment history: the rollback target, and whether a redeploy would change anything. */
import { Effect, Option } from "effect"
import type { Deployment } from "../domain/deployment.js"
import type { Service } from "../domain/service.js"
import type { DeploymentsRepo } from "../repos/DeploymentsRepo.js"
import type { ProjectsRepo } from "../repos/ProjectsRepo.js"
import type { ServiceSecretsRepo } from "../repos/ServiceSecretsRepo.js"
import type { ServicesRepo } from "../repos/ServicesRepo.js"

/**
 * The rollback target: the previous promoted deployment running another
 * image than the live one — the stored pointer (promote keeps it distinct),
 * or, for history from before restarts were events, the newest older
 * promoted deployment with a different digest.
 */
export const rollbackTarget = (deployments: DeploymentsRepo, service: Service) =>
  Effect.gen(function*() {
    const live = service.promotedDeploymentId === null ? Option.none<Deployment>() : yield* deployments.find(service.promotedDeploymentId)
    const liveDigest = Option.flatMap(live, (d) => Option.fromNullable(d.imageDigest))
    const stored = service.previousDeploymentId === null ? Option.none<Deployment>() : yield* deployments.find(service.previousDeploymentId)
    if (Option.isNone(liveDigest)) return stored
    if (Option.isSome(stored) && stored.value.imageDigest !== liveDigest.value) return stored
    const before = Option.match(live, { onNone: () => "", onSome: (d) => d.id })
    return yield* deployments.previousDistinct(service.id, before, liveDigest.value)
  })

export interface ChangeSources {
  readonly services: ServicesRepo
  readonly projects: ProjectsRepo
  readonly secrets: ServiceSecretsRepo
}

/**
 * Something that feeds a deployment changed after the live one was created:
 * the service spec, a service secret, or the project (shared env, default
 * limits). Removed secrets leave no timestamp and are not seen.
 */
export const pendingChanges = (sources: ChangeSources, service: Service, live: Deployment) =>
  Effect.gen(function*() {
    const since = live.createdAt
    const spec = yield* sources.services.specUpdatedAt(service.id)
    if (Option.isSome(spec) && spec.value > since) return true
    const secrets = yield* sources.secrets.list(service.id)
    if (secrets.some((x) => x.updatedAt > since)) return true
    const project = yield* sources.projects.get(service.projectId).pipe(Effect.option)
    return Option.isSome(project) && project.value.updatedAt > since
  })
