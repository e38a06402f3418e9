import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { CurrentPrincipal } from "../../definition/security.js"
import { Authz } from "../../../auth/Authz.js"
import { ProjectsRepo } from "../../../repos/ProjectsRepo.js"
import { SecretStore } from "../../../secrets/SecretStore.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"
import { makeRouteRefresh } from "./routeRefresh.js"
import { redactProject } from "../redaction.js"

export const ProjectsHandlers = HttpApiBuilder.group(DeniaApi, "projects", (handlers) =>
  Effect.gen(function* () {
    const projects = yield* ProjectsRepo
    const authz = yield* Authz
    const secretStore = yield* SecretStore
    const routed = yield* makeRouteRefresh
    return handlers
      .handle("list", () =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          const visible = yield* authz.visibleProjectIds(principal)
          const all = yield* projects.list
          const items = visible === undefined ? all : all.filter((p) => visible.includes(p.id))
          return { items: yield* Effect.forEach(items, redactProject(authz, principal)) }
        })
      )
      .handle("create", ({ payload }) => mapDomainErrors(projects.create(payload)))
      .handle("get", ({ path }) =>
        mapDomainErrors(Effect.flatMap(Effect.zip(projects.get(path.id), CurrentPrincipal), ([p, principal]) => redactProject(authz, principal)(p)))
      )
      .handle("update", ({ path, payload }) => routed(mapDomainErrors(projects.update(path.id, payload))))
      .handle("delete", ({ path }) =>
        // The rows go first (409 while services exist); then the project's encrypted files.
        routed(mapDomainErrors(projects.remove(path.id).pipe(Effect.zipRight(secretStore.deleteProject(path.id)))))
      )
  })
)
