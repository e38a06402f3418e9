import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { DeploymentsRepo } from "../../repos/DeploymentsRepo.js"
import { ServicesRepo } from "../../repos/ServicesRepo.js"
import { DeniaApi } from "../DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"

export const DeploymentsHandlers = HttpApiBuilder.group(DeniaApi, "deployments", (handlers) =>
  Effect.gen(function* () {
    const deployments = yield* DeploymentsRepo
    const services = yield* ServicesRepo
    return handlers
      .handle("listForService", ({ path }) =>
        mapDomainErrors(
          services.get(path.id).pipe(
            Effect.flatMap((s) => deployments.listForService(s.id)),
            Effect.map((items) => ({ items }))
          )
        )
      )
      .handle("get", ({ path }) => mapDomainErrors(deployments.get(path.id)))
  })
)
