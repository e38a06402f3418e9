import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import { clientIp } from "../../auth/clientIp.js"
import { actorOf } from "../../auth/Identity.js"
import { Registries, type ChangeContext } from "../../secrets/registries.js"
import { DeniaApi } from "../DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"
import { CurrentPrincipal } from "../security.js"

/** Actor and client IP of the current request, for audit records. */
export const changeContext: Effect.Effect<ChangeContext, never, CurrentPrincipal | HttpServerRequest.HttpServerRequest> = Effect.gen(function* () {
  return { actor: actorOf(yield* CurrentPrincipal), clientIp: clientIp(yield* HttpServerRequest.HttpServerRequest) }
})

export const RegistriesHandlers = HttpApiBuilder.group(DeniaApi, "registries", (handlers) =>
  Effect.gen(function* () {
    const registries = yield* Registries
    return handlers
      .handle("list", ({ path }) => mapDomainErrors(Effect.map(registries.list(path.id), (items) => ({ items }))))
      .handle("create", ({ path, payload }) => mapDomainErrors(Effect.flatMap(changeContext, (ctx) => registries.create(ctx, path.id, payload))))
      .handle("get", ({ path }) => mapDomainErrors(registries.get(path.id, path.registryId)))
      .handle("update", ({ path, payload }) =>
        mapDomainErrors(Effect.flatMap(changeContext, (ctx) => registries.update(ctx, path.id, path.registryId, payload)))
      )
      .handle("delete", ({ path }) => mapDomainErrors(Effect.flatMap(changeContext, (ctx) => registries.remove(ctx, path.id, path.registryId))))
  })
)
