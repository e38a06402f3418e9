import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { ServiceSecretInfo, SetServiceSecret } from "../../../domain/serviceSecret.js"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"
import { IdPath } from "./projects.js"

export const ServiceSecretList = Schema.Struct({ items: Schema.Array(ServiceSecretInfo) })
export const SecretPath = Schema.Struct({ id: Schema.String, name: Schema.String })

const operator = rules.project("operator", "servicePath")

/** Secret env vars of a service (Operator). `POST` creates or replaces; lists return names only. */
export class SecretsGroup extends HttpApiGroup.make("secrets")
  .add(HttpApiEndpoint.get("list", "/services/:id/secrets").setPath(IdPath).addSuccess(ServiceSecretList).annotate(Access, operator))
  .add(
    HttpApiEndpoint.post("set", "/services/:id/secrets")
      .setPath(IdPath)
      .setPayload(SetServiceSecret)
      .addSuccess(ServiceSecretInfo, { status: 201 })
      .annotate(Access, operator)
  )
  .add(
    HttpApiEndpoint.del("delete", "/services/:id/secrets/:name")
      .setPath(SecretPath)
      .addSuccess(HttpApiSchema.NoContent)
      .annotate(Access, operator)
  )
  .middleware(Authorization)
  .prefix("/v1")
{}
