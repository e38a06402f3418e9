import { Schema } from "effect"

/** A deployment step failed; `phase` is where, `message` is operator-facing (never secrets). */
export class DeployFailed extends Schema.TaggedError<DeployFailed>()("DeployFailed", {
  phase: Schema.Literal("building", "starting", "health"),
  message: Schema.String
}) {}

/** An action cannot run in the service's current state (→ 409). */
export class ActionConflict extends Schema.TaggedError<ActionConflict>()("ActionConflict", {
  message: Schema.String
}) {}
