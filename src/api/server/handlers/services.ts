import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Authz } from "../../../auth/Authz.js"
import { Invalid } from "../../../domain/errors.js"
import type { Service, UpdateService } from "../../../domain/service.js"
import { ProjectsRepo } from "../../../repos/ProjectsRepo.js"
import { ServiceSecrets } from "../../../secrets/serviceSecrets.js"
import { ServicesRepo, type ServiceSpec } from "../../../repos/ServicesRepo.js"
import { Coordinator } from "../../../deploy/Coordinator.js"
import { makeImageAuthorization } from "../../../deploy/imageAuthorization.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"
import { makeRouteRefresh } from "./routeRefresh.js"
import { redactService } from "../redaction.js"
import { CurrentPrincipal } from "../../definition/security.js"

/** PATCH may repeat the identity fields, but never change them. */
const checkIdentity = (current: Service, patch: UpdateService) =>
  patch.id !== undefined && patch.id !== current.id
    ? Effect.fail(new Invalid({ field: "id", message: "does not match the service in the path" }))
    : patch.projectId !== undefined && patch.projectId !== current.projectId
      ? Effect.fail(new Invalid({ field: "projectId", message: "cannot be changed; create the service in the other project instead" }))
      : patch.name !== undefined && patch.name !== current.name
        ? Effect.fail(new Invalid({ field: "name", message: "cannot be changed; create a new service instead" }))
        : Effect.void

const applyPatch = (current: Service, patch: UpdateService): ServiceSpec => ({
  source: patch.source ?? current.source,
  port: patch.port ?? current.port,
  env: patch.env ?? current.env,
  limits: patch.limits === undefined ? current.limits : patch.limits,
  health: patch.health ?? current.health,
  tlsEnabled: patch.tlsEnabled ?? current.tlsEnabled,
  autoscale: patch.autoscale === undefined ? current.autoscale : patch.autoscale,
  endpoints: patch.endpoints ?? current.endpoints
})

export const ServicesHandlers = HttpApiBuilder.group(DeniaApi, "services", (handlers) =>
  Effect.gen(function* () {
    const services = yield* ServicesRepo
    const projects = yield* ProjectsRepo
    const authz = yield* Authz
    const coordinator = yield* Coordinator
    const routed = yield* makeRouteRefresh
    const images = yield* makeImageAuthorization
    const serviceSecrets = yield* ServiceSecrets
    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          const visible = yield* authz.visibleProjectIds(principal)
          const wanted = urlParams.projectId
          const projectIds =
            wanted === undefined ? visible : visible === undefined || visible.includes(wanted) ? [wanted] : []
          const items = yield* services.list({ projectIds })
          const redacted = yield* Effect.forEach(items, redactService(authz, principal))
          return { items: yield* Effect.forEach(redacted, coordinator.withStatus) }
        })
      )
      .handle("create", ({ payload }) =>
        routed(mapDomainErrors(
          Effect.gen(function* () {
            const project = yield* projects.get(payload.projectId)
            const principal = yield* CurrentPrincipal
            yield* authz.requireProjectRole(principal, project.id, "operator")
            yield* images.checkSource(principal, project.id, payload.source)
            return yield* services.create(payload)
          })
        ))
      )
      .handle("get", ({ path }) =>
        mapDomainErrors(
          Effect.flatMap(Effect.zip(services.get(path.id), CurrentPrincipal), ([s, principal]) =>
            Effect.flatMap(redactService(authz, principal)(s), coordinator.withStatus)
          )
        )
      )
      .handle("update", ({ path, payload }) =>
        routed(mapDomainErrors(
          Effect.gen(function* () {
            const current = yield* services.get(path.id)
            yield* checkIdentity(current, payload)
            if (payload.source !== undefined) yield* images.checkSource(yield* CurrentPrincipal, current.projectId, payload.source)
            return yield* services.updateSpec(current.id, applyPatch(current, payload))
          })
        ))
      )
      .handle("delete", ({ path }) =>
        // Stop first: no replica outlives its service.
        routed(mapDomainErrors(
          Effect.flatMap(services.get(path.id), (s) =>
            coordinator.stopService(s.id).pipe(Effect.zipRight(serviceSecrets.purgeAfter(s, services.remove(s.id))))
          )
        ))
      )
  })
)
