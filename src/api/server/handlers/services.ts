import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ServicesApp } from "../../../app/ServicesApp.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { CurrentPrincipal } from "../../definition/security.js"
import { mapDomainErrors } from "../errorMapping.js"

export const ServicesHandlers = HttpApiBuilder.group(DeniaApi, "services", (handlers) =>
  Effect.gen(function*() {
    const app = yield* ServicesApp
    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.flatMap(CurrentPrincipal, (principal) =>
          app.list(principal, urlParams.projectId)).pipe(Effect.map((items) => ({ items })), mapDomainErrors))
      .handle("create", ({ payload }) =>
        mapDomainErrors(Effect.flatMap(CurrentPrincipal, (principal) =>
          app.create(principal, payload))))
      .handle("get", ({ path }) =>
        mapDomainErrors(Effect.flatMap(CurrentPrincipal, (principal) =>
          app.get(principal, path.id))))
      .handle("update", ({ path, payload }) =>
        mapDomainErrors(Effect.flatMap(CurrentPrincipal, (principal) =>
          app.update(principal, path.id, payload))))
      .handle("delete", ({ path, urlParams }) =>
        mapDomainErrors(app.remove(path.id, urlParams.purgeVolumes === "true")))
  }))
