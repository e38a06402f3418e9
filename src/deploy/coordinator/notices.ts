/**
 * What the coordinator tells the rest of the daemon, each at the one spot
 * where it happens: a deployment promoted or failed, a service stopped, a
 * replica entering or leaving traffic. Nothing listens yet; the event bus
 * (`src/events/`, issue 14 item 2) implements `makeNotices` with
 * `Events.publish` — the coordinator's code does not change for that.
 */
import { Effect } from "effect"

export interface CoordinatorNotices {
  /** After the deployment is promoted and healthy (the service's pointer moved). */
  readonly deploymentPromoted: (serviceId: string, deploymentId: string) => Effect.Effect<void>
  /** After the deployment is marked failed; `reason` is its operator-facing error. */
  readonly deploymentFailed: (serviceId: string, deploymentId: string, reason: string) => Effect.Effect<void>
  /** After an operator stop (pointer cleared, replicas stopped). */
  readonly serviceStopped: (serviceId: string) => Effect.Effect<void>
  /** A healthy replica was published to the ingress (deploy or relaunch). */
  readonly replicaStarted: (serviceId: string, replicaId: string) => Effect.Effect<void>
  /** A replica left traffic: replaced, stopped, or it exited on its own (`reason`). */
  readonly replicaStopped: (serviceId: string, replicaId: string, reason: string) => Effect.Effect<void>
}

export const makeNotices: Effect.Effect<CoordinatorNotices> = Effect.succeed({
  deploymentPromoted: () => Effect.void,
  deploymentFailed: () => Effect.void,
  serviceStopped: () => Effect.void,
  replicaStarted: () => Effect.void,
  replicaStopped: () => Effect.void
})
