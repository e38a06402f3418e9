import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ServicesApp } from "../../../app/ServicesApp.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"
import { currentCaller } from "../requestContext.js"

export const SecretsHandlers = HttpApiBuilder.group(DeniaApi, "secrets", (handlers) =>
  Effect.gen(function*() {
    const app = yield* ServicesApp
    return handlers
      .handle("list", ({ path }) => mapDomainErrors(Effect.map(app.listSecrets(path.id), (items) => ({ items }))))
      .handle("set", ({ path, payload }) =>
        mapDomainErrors(Effect.flatMap(currentCaller, (caller) =>
          app.setSecret(caller, path.id, payload.name, payload.value))))
      .handle("delete", ({ path }) =>
        mapDomainErrors(Effect.flatMap(currentCaller, (caller) =>
          app.removeSecret(caller, path.id, path.name))))
  }))
