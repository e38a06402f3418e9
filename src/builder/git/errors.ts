import { Schema } from "effect"

/**
 * A Git checkout or remote query failed. `message` is operator-facing: it
 * names the remote by host and the ref, never a token, key or host path.
 */
export class GitFailed extends Schema.TaggedError<GitFailed>()("denia/builder/GitFailed", {
  /** What went wrong, for the deployment error and the auto-deploy status. */
  reason: Schema.Literal("clone", "credential", "hostKey", "confinement", "limit", "timeout"),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}
