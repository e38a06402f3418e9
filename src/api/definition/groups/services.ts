import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { CreateService, Service, UpdateService } from "../../../domain/service.js"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"
import { IdPath } from "./projects.js"

export const ServiceList = Schema.Struct({ items: Schema.Array(Service) })
export const ServiceListQuery = Schema.Struct({ projectId: Schema.optional(Schema.String) })
/** `?purgeVolumes=true` also removes the service's volumes (kept otherwise). */
export const ServiceDeleteQuery = Schema.Struct({ purgeVolumes: Schema.optional(Schema.Literal("true", "false")) })

export class ServicesGroup extends HttpApiGroup.make("services")
  .add(
    HttpApiEndpoint.get("list", "/services")
      .setUrlParams(ServiceListQuery)
      .addSuccess(ServiceList)
      .annotate(Access, rules.project("viewer", "handler"))
  )
  .add(
    HttpApiEndpoint.post("create", "/services")
      .setPayload(CreateService)
      .addSuccess(Service, { status: 201 })
      .annotate(Access, rules.project("operator", "handler"))
  )
  .add(
    HttpApiEndpoint.get("get", "/services/:id").setPath(IdPath).addSuccess(Service).annotate(Access, rules.project("viewer", "servicePath"))
  )
  .add(
    HttpApiEndpoint.patch("update", "/services/:id")
      .setPath(IdPath)
      .setPayload(UpdateService)
      .addSuccess(Service)
      .annotate(Access, rules.project("operator", "servicePath"))
  )
  .add(
    HttpApiEndpoint.del("delete", "/services/:id")
      .setPath(IdPath)
      .setUrlParams(ServiceDeleteQuery)
      .addSuccess(HttpApiSchema.NoContent)
      .annotate(Access, rules.project("operator", "servicePath"))
  )
  .middleware(Authorization)
  .prefix("/v1")
{}
