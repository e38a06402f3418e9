import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { Access, rules } from "../access.js"

export const Health = Schema.Struct({ status: Schema.Literal("ok") })

/** Public endpoints: liveness and the generated OpenAPI document. */
export class MetaGroup extends HttpApiGroup.make("meta")
  .add(HttpApiEndpoint.get("health", "/healthz").addSuccess(Health).annotate(Access, rules.public))
  .add(
    HttpApiEndpoint.get("openapi", "/v1/openapi.json")
      .addSuccess(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
      .annotate(Access, rules.public)
  ) {}
