import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Registries } from "../../../secrets/registries.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"
import { auditContext } from "../requestContext.js"

export const RegistriesHandlers = HttpApiBuilder.group(DeniaApi, "registries", (handlers) =>
  Effect.gen(function*() {
    const registries = yield* Registries
    return handlers
      .handle("list", ({ path }) => mapDomainErrors(Effect.map(registries.list(path.id), (items) => ({ items }))))
      .handle("create", ({ path, payload }) =>
        mapDomainErrors(Effect.flatMap(auditContext, (ctx) => registries.create(ctx, path.id, payload))))
      .handle("get", ({ path }) =>
        mapDomainErrors(registries.get(path.id, path.registryId)))
      .handle("update", ({ path, payload }) =>
        mapDomainErrors(Effect.flatMap(auditContext, (ctx) =>
          registries.update(ctx, path.id, path.registryId, payload))))
      .handle("delete", ({ path }) =>
        mapDomainErrors(Effect.flatMap(auditContext, (ctx) =>
          registries.remove(ctx, path.id, path.registryId))))
  }))
