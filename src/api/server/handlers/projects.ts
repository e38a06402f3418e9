import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ProjectsApp } from "../../../app/ProjectsApp.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { CurrentPrincipal } from "../../definition/security.js"
import { mapDomainErrors } from "../errorMapping.js"

export const ProjectsHandlers = HttpApiBuilder.group(DeniaApi, "projects", (handlers) =>
  Effect.gen(function*() {
    const app = yield* ProjectsApp
    return handlers
      .handle("list", () => Effect.flatMap(CurrentPrincipal, app.list).pipe(Effect.map((items) => ({ items })), mapDomainErrors))
      .handle("create", ({ payload }) => mapDomainErrors(app.create(payload)))
      .handle("get", ({ path }) => mapDomainErrors(Effect.flatMap(CurrentPrincipal, (principal) => app.get(principal, path.id))))
      .handle("update", ({ path, payload }) => mapDomainErrors(app.update(path.id, payload)))
      .handle("delete", ({ path }) => mapDomainErrors(app.remove(path.id)))
  }))
