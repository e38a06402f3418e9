/**
 * Port of the auto-deploy subsystem: queue a deployment of a Git source at a
 * ref on behalf of the system (no user asked), audited as such. Implemented
 * in `app/AutoDeployApp.ts` (authorization of the hosted pull, coordinator,
 * audit), wired in `daemon/`.
 */
import { Context, type Effect } from "effect"
import type { TriggerFailed } from "./errors.js"

export interface TriggerRequest {
  readonly serviceId: string
  readonly trigger: "webhook" | "poll"
  /** Branch or tag to build. */
  readonly gitRef: string
  /** The commit the trigger saw (audit detail; the build records what it checked out). */
  readonly commit: string | undefined
  /** Who caused it, for the audit record (`webhook from 203.0.113.9`, `poll`). */
  readonly clientIp: string | undefined
}

export class DeployTrigger extends Context.Tag("denia/autodeploy/DeployTrigger")<DeployTrigger, {
  readonly deploy: (request: TriggerRequest) => Effect.Effect<{ readonly deploymentId: string }, TriggerFailed>
}>() {}
