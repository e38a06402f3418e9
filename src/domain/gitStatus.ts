import { Schema } from "effect"

/**
 * What a Git-source service shows beside its spec (`GET /v1/services/{id}/git`):
 * the pinned SSH host key, whether a webhook secret exists, and the
 * auto-deploy trigger's last observation and error.
 */
export const GitStatus = Schema.Struct({
  hostKey: Schema.NullOr(Schema.Struct({
    /** `SHA256:…` fingerprints, as `ssh-keygen -lf` prints them. */
    fingerprints: Schema.Array(Schema.String),
    pinnedAt: Schema.String
  })),
  webhook: Schema.Struct({
    configured: Schema.Boolean,
    rotatedAt: Schema.optional(Schema.String)
  }),
  autoDeploy: Schema.Struct({
    /** `ok`: last check fine; `error`: see `lastError`; `idle`: nothing checked yet. */
    state: Schema.Literal("idle", "ok", "error"),
    lastCheckedAt: Schema.optional(Schema.String),
    lastSeenRef: Schema.optional(Schema.String),
    lastSeenCommit: Schema.optional(Schema.String),
    lastTriggerAt: Schema.optional(Schema.String),
    lastDeploymentId: Schema.optional(Schema.String),
    lastError: Schema.optional(Schema.String)
  })
}).annotations({ identifier: "GitStatus" })
export type GitStatus = typeof GitStatus.Type

/** What one auto-deploy trigger (a webhook delivery or a poll) did. */
export const AutoDeployOutcome = Schema.Struct({
  status: Schema.Literal("deploying", "ignored", "unchanged", "failed"),
  message: Schema.String,
  ref: Schema.optional(Schema.String),
  commit: Schema.optional(Schema.String),
  deploymentId: Schema.optional(Schema.String)
}).annotations({ identifier: "AutoDeployOutcome" })
export type AutoDeployOutcome = typeof AutoDeployOutcome.Type
