import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ServicesRepo } from "../../../repos/ServicesRepo.js"
import { ServiceSecrets } from "../../../secrets/serviceSecrets.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"
import { auditContext } from "../requestContext.js"

export const SecretsHandlers = HttpApiBuilder.group(DeniaApi, "secrets", (handlers) =>
  Effect.gen(function* () {
    const secrets = yield* ServiceSecrets
    const services = yield* ServicesRepo
    return handlers
      .handle("list", ({ path }) =>
        mapDomainErrors(Effect.flatMap(services.get(path.id), (s) => Effect.map(secrets.list(s.id), (items) => ({ items })))))
      .handle("set", ({ path, payload }) =>
        mapDomainErrors(
          Effect.gen(function* () {
            const service = yield* services.get(path.id)
            return yield* secrets.set(yield* auditContext, service, payload.name, payload.value)
          })
        )
      )
      .handle("delete", ({ path }) =>
        mapDomainErrors(
          Effect.gen(function* () {
            const service = yield* services.get(path.id)
            return yield* secrets.remove(yield* auditContext, service, path.name)
          })
        )
      )
  })
)
