import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { Deployment } from "../../../domain/deployment.js"
import { Id } from "../../../domain/ids.js"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"
import { IdPath } from "./projects.js"

const strict = { parseOptions: { onExcessProperty: "error" } } as const

export const DeploymentList = Schema.Struct({ items: Schema.Array(Deployment) })
export const DeployBody = Schema.Struct({
  image: Schema.optional(
    Schema.String.pipe(Schema.filter((s) => (s.length > 0 && s.length <= 512 ? true : "image must be 1-512 characters")))
  )
}).annotations(strict)
/** `POST /v1/services/{id}/deployments`: the service's own source, an `image` instead, or a stored upload (`uploadId`). */
export const DeployServiceBody = Schema.Struct({
  image: DeployBody.fields.image,
  uploadId: Schema.optional(
    Schema.String.pipe(Schema.filter((s) => (s.length > 0 && s.length <= 64 ? true : "uploadId must be 1-64 characters")))
  )
}).pipe(
  Schema.filter((b) =>
    b.image !== undefined && b.uploadId !== undefined
      ? { path: ["uploadId"], message: "cannot be combined with image: an upload builds the service's own image" }
      : true
  )
).annotations(strict)
export const DeployForServiceBody = Schema.Struct({ serviceId: Id, image: DeployBody.fields.image }).annotations(strict)
export const EventStream = HttpApiSchema.Text({ contentType: "text/event-stream" })
export const LogsQuery = Schema.Struct({
  since: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.greaterThanOrEqualTo(0, { message: () => "since must be a byte offset >= 0" }))
  )
})
export const ServiceLogsQuery = Schema.Struct({
  tail: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 10_000, { message: () => "tail must be between 1 and 10000" }))
  )
})
export const ServiceLogLines = Schema.Struct({ lines: Schema.Array(Schema.String) })
export const ActionReceipt = Schema.Struct({
  serviceId: Id,
  action: Schema.Literal("stop", "start", "restart", "rollback"),
  deployment: Schema.NullOr(Deployment)
})

const operatorOnService = rules.project("operator", "servicePath")
const action = <const N extends "stop" | "start" | "restart" | "rollback">(name: N) =>
  HttpApiEndpoint.post(name, `/services/:id/${name}`).setPath(IdPath).addSuccess(ActionReceipt, { status: 202 }).annotate(
    Access,
    operatorOnService
  )

export class DeploymentsGroup extends HttpApiGroup.make("deployments")
  .add(
    HttpApiEndpoint.get("listForService", "/services/:id/deployments")
      .setPath(IdPath)
      .addSuccess(DeploymentList)
      .annotate(Access, rules.project("viewer", "servicePath"))
  )
  .add(
    HttpApiEndpoint.post("deployService", "/services/:id/deployments")
      .setPath(IdPath)
      .setPayload(DeployServiceBody)
      .addSuccess(Deployment, { status: 202 })
      .annotate(Access, operatorOnService)
  )
  .add(
    HttpApiEndpoint.post("create", "/deployments")
      .setPayload(DeployForServiceBody)
      .addSuccess(Deployment, { status: 202 })
      .annotate(Access, rules.project("operator", "handler"))
  )
  .add(
    HttpApiEndpoint.get("get", "/deployments/:id")
      .setPath(IdPath)
      .addSuccess(Deployment)
      .annotate(Access, rules.project("viewer", "deploymentPath"))
  )
  .add(
    HttpApiEndpoint.get("logs", "/deployments/:id/logs")
      .setPath(IdPath)
      .setUrlParams(LogsQuery)
      .addSuccess(EventStream)
      .annotate(Access, rules.project("operator", "deploymentPath"))
  )
  .add(action("stop"))
  .add(action("start"))
  .add(action("restart"))
  .add(action("rollback"))
  .add(
    HttpApiEndpoint.get("serviceLogs", "/services/:id/logs")
      .setPath(IdPath)
      .setUrlParams(ServiceLogsQuery)
      .addSuccess(ServiceLogLines)
      .annotate(Access, operatorOnService)
  )
  .add(
    HttpApiEndpoint.get("serviceLogStream", "/services/:id/logs/stream")
      .setPath(IdPath)
      .setUrlParams(ServiceLogsQuery)
      .addSuccess(EventStream)
      .annotate(Access, operatorOnService)
  )
  .middleware(Authorization)
  .prefix("/v1")
{}
