import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { AttachDomain, Domain } from "../../../domain/domain.js"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"
import { IdPath } from "./projects.js"

export const DomainList = Schema.Struct({ items: Schema.Array(Domain) })
export const DomainPath = Schema.Struct({ id: Schema.String, domainId: Schema.String })

export const IngressRoute = Schema.Struct({
  hostname: Schema.String,
  kind: Schema.Literal("default", "domain", "control"),
  serviceId: Schema.NullOr(Schema.String),
  project: Schema.NullOr(Schema.String),
  service: Schema.NullOr(Schema.String),
  tlsEnabled: Schema.Boolean,
  healthyReplicas: Schema.Number,
  certificateExpiresAt: Schema.NullOr(Schema.String)
}).annotations({ identifier: "IngressRoute" })
export const IngressRouteList = Schema.Struct({ items: Schema.Array(IngressRoute) })

export const AccessLogEntry = Schema.Struct({
  at: Schema.String,
  method: Schema.String,
  path: Schema.String,
  status: Schema.Number,
  bytes: Schema.Number,
  durationMs: Schema.Number,
  replica: Schema.NullOr(Schema.String),
  clientIp: Schema.String,
  /** Why the ingress answered 502/503/504 or cut the response, e.g. `upstream parse error: bare CR in the response head`. */
  error: Schema.NullOr(Schema.String)
}).annotations({ identifier: "AccessLogEntry" })
/** Upstream failures of the service since the daemon started, by kind. */
export const UpstreamErrorCounts = Schema.Struct({
  total: Schema.Number,
  parseError: Schema.Number,
  reset: Schema.Number,
  timeout: Schema.Number,
  connectFailed: Schema.Number,
  noHealthyReplica: Schema.Number,
  since: Schema.String
}).annotations({ identifier: "UpstreamErrorCounts" })
export const AccessLogList = Schema.Struct({ items: Schema.Array(AccessLogEntry), upstreamErrors: UpstreamErrorCounts })
export const RequestsQuery = Schema.Struct({
  limit: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000, { message: () => "limit must be between 1 and 1000" }))
  )
})

const viewer = rules.project("viewer", "servicePath")
const operator = rules.project("operator", "servicePath")

/** Live route table (super-admin), service domains (Viewer read / Operator write) and access log (Operator). */
export class IngressGroup extends HttpApiGroup.make("ingress")
  .add(HttpApiEndpoint.get("routes", "/ingress/routes").addSuccess(IngressRouteList).annotate(Access, rules.superAdmin))
  .add(HttpApiEndpoint.get("listDomains", "/services/:id/domains").setPath(IdPath).addSuccess(DomainList).annotate(Access, viewer))
  .add(
    HttpApiEndpoint.post("attachDomain", "/services/:id/domains")
      .setPath(IdPath)
      .setPayload(AttachDomain)
      .addSuccess(Domain, { status: 201 })
      .annotate(Access, operator)
  )
  .add(
    HttpApiEndpoint.del("deleteDomain", "/services/:id/domains/:domainId").setPath(DomainPath).addSuccess(HttpApiSchema.NoContent).annotate(
      Access,
      operator
    )
  )
  .add(
    HttpApiEndpoint.post("verifyDomain", "/services/:id/domains/:domainId/verify").setPath(DomainPath).addSuccess(Domain).annotate(
      Access,
      operator
    )
  )
  .add(
    HttpApiEndpoint.get("requests", "/services/:id/requests").setPath(IdPath).setUrlParams(RequestsQuery).addSuccess(AccessLogList)
      .annotate(Access, operator)
  )
  .middleware(Authorization)
  .prefix("/v1")
{}
