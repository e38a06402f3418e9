import { Schema } from "effect"
import { Id } from "./ids.js"

/**
 * What a service is doing right now, derived from its live deployment and
 * replicas (never stored): `never-deployed` (no deployment yet), `deploying`
 * (a deployment is in flight and nothing is live), `running`, `crashloop`
 * (the live deployment's workload keeps dying and restarts are backing off),
 * `failed` (the latest deployment failed and nothing is live), `stopped`.
 */
export const ServiceState = Schema.Literal("never-deployed", "deploying", "running", "crashloop", "failed", "stopped")
export type ServiceState = typeof ServiceState.Type

export const ServiceStatus = Schema.Struct({
  state: ServiceState,
  readyReplicas: Schema.Number,
  desiredReplicas: Schema.Number,
  /** Restarts of the live deployment's replicas since it was promoted. */
  restarts: Schema.Number,
  /**
   * Why the workload last ended, e.g. `workload exited (code 1): <last stderr line>`,
   * `workload killed by signal 9 (SIGKILL)`, `workload killed by the kernel OOM killer (memory limit 256 MiB)`;
   * for `failed`, why the newest deployment failed.
   */
  lastExit: Schema.optional(Schema.String),
  /** When the next restart attempt is due while backing off (RFC 3339). */
  nextRestartAt: Schema.optional(Schema.String),
  liveDeploymentId: Schema.NullOr(Id),
  /** The service spec changed after the live deployment was created: a redeploy applies it. */
  pendingChanges: Schema.Boolean,
  /** The node network replicas get: `bridge <name> <address> (...)` or `loopback only (<reason>)`. */
  network: Schema.optional(Schema.String)
}).annotations({ identifier: "ServiceStatus" })
export type ServiceStatus = typeof ServiceStatus.Type
