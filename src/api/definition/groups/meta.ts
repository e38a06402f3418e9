import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { Access, rules } from "../access.js"

export const Health = Schema.Struct({ status: Schema.Literal("ok") })

/** Whether first-run setup (`POST /v1/bootstrap`) is done, i.e. a user exists. Lets the login page stop offering setup. */
export const SetupStatus = Schema.Struct({ setupComplete: Schema.Boolean }).annotations({ identifier: "SetupStatus" })

/** Public endpoints: liveness, setup status and the generated OpenAPI document. */
export class MetaGroup extends HttpApiGroup.make("meta")
  .add(HttpApiEndpoint.get("health", "/healthz").addSuccess(Health).annotate(Access, rules.public))
  .add(HttpApiEndpoint.get("setupStatus", "/v1/setup-status").addSuccess(SetupStatus).annotate(Access, rules.public))
  .add(
    HttpApiEndpoint.get("openapi", "/v1/openapi.json")
      .addSuccess(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
      .annotate(Access, rules.public)
  )
{}
