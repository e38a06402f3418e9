import { Schema } from "effect"
import { Id } from "./ids.js"

export const DeploymentStatus = Schema.Literal("pending", "building", "starting", "healthy", "failed", "stopped")
export type DeploymentStatus = typeof DeploymentStatus.Type

export const TERMINAL_STATUSES: ReadonlySet<DeploymentStatus> = new Set(["healthy", "failed", "stopped"])

export const Deployment = Schema.Struct({
  id: Id,
  serviceId: Id,
  status: DeploymentStatus,
  imageRef: Schema.String,
  imageDigest: Schema.optional(Schema.String),
  createdAt: Schema.String,
  finishedAt: Schema.optional(Schema.String),
  error: Schema.optional(Schema.String)
}).annotations({ identifier: "Deployment" })
export type Deployment = typeof Deployment.Type
