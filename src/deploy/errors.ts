import { Schema } from "effect"

/** A deployment step failed; `phase` is where, `message` is operator-facing (never secrets). */
export class DeployFailed extends Schema.TaggedError<DeployFailed>()("denia/deploy/DeployFailed", {
  phase: Schema.Literal("building", "starting", "health"),
  message: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** An action cannot run in the service's current state (→ 409). */
export class ActionConflict extends Schema.TaggedError<ActionConflict>()("denia/deploy/ActionConflict", {
  message: Schema.String
}) {}
