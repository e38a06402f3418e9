import { Schema } from "effect"

/** An auto-deploy trigger could not queue its deployment (`message` is what the service's status shows). */
export class TriggerFailed extends Schema.TaggedError<TriggerFailed>()("denia/autodeploy/TriggerFailed", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}
