import { Schema } from "effect"
import { Id } from "./ids.js"

export const DeploymentStatus = Schema.Literal("pending", "building", "starting", "healthy", "failed", "stopped")
export type DeploymentStatus = typeof DeploymentStatus.Type

export const TERMINAL_STATUSES: ReadonlySet<DeploymentStatus> = new Set(["healthy", "failed", "stopped"])

/** What started a deployment. */
export const DeploymentTrigger = Schema.Literal("api", "push", "rollback", "webhook", "poll", "start", "restart")
export type DeploymentTrigger = typeof DeploymentTrigger.Type

export const Deployment = Schema.Struct({
  id: Id,
  serviceId: Id,
  status: DeploymentStatus,
  imageRef: Schema.String,
  imageDigest: Schema.optional(Schema.String),
  createdAt: Schema.String,
  finishedAt: Schema.optional(Schema.String),
  error: Schema.optional(Schema.String),
  trigger: Schema.optional(DeploymentTrigger),
  /** Replica restarts recorded on this deployment (a restart is not a new deployment). */
  restartCount: Schema.optional(Schema.Number),
  /** Why its workload last ended, e.g. `workload exited (code 1) after 10 ms: …`. */
  lastExitReason: Schema.optional(Schema.String),
  /** Git sources: the commit the image was built from (40 hex). */
  commitSha: Schema.optional(Schema.String),
  /** Git sources: the branch, tag or commit that was asked for. */
  gitRef: Schema.optional(Schema.String)
}).annotations({ identifier: "Deployment" })
export type Deployment = typeof Deployment.Type
