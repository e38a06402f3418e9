import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Domains } from "../../../ingress/Domains.js"
import { Ingress } from "../../../ingress/Ingress.js"
import { ServicesRepo } from "../../../repos/ServicesRepo.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"

export const IngressHandlers = HttpApiBuilder.group(DeniaApi, "ingress", (handlers) =>
  Effect.gen(function*() {
    const ingress = yield* Ingress
    const domains = yield* Domains
    const services = yield* ServicesRepo
    return handlers
      .handle("routes", () => Effect.map(ingress.routes, (items) => ({ items })))
      .handle("listDomains", ({ path }) => mapDomainErrors(Effect.map(domains.list(path.id), (items) => ({ items }))))
      .handle("attachDomain", ({ path, payload }) => mapDomainErrors(domains.attach(path.id, payload.hostname)))
      .handle("deleteDomain", ({ path }) => mapDomainErrors(domains.remove(path.id, path.domainId)))
      .handle("verifyDomain", ({ path }) => mapDomainErrors(domains.verify(path.id, path.domainId)))
      .handle("requests", ({ path, urlParams }) =>
        mapDomainErrors(
          Effect.gen(function*() {
            yield* services.get(path.id)
            return {
              items: yield* ingress.requests(path.id, urlParams.limit ?? 100),
              upstreamErrors: yield* ingress.upstreamErrors(path.id)
            }
          })
        ))
  }))
