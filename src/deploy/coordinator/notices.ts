/**
 * What the coordinator tells the rest of the daemon, each from the one
 * function where it happens: a deployment promoted (`pipeline.ts`), a
 * deployment failed (`toolkit.ts` finishFailed), a service stopped
 * (`actions.ts` stopService), published on the event bus (`src/events/`).
 * Replicas entering and leaving traffic are announced by the
 * ReplicaPublisher, which sees every publish and drain.
 */
import { Effect } from "effect"
import { DomainEvent } from "../../events/DomainEvent.js"
import { Events } from "../../events/Events.js"

export interface CoordinatorNotices {
  /** After the deployment is promoted and healthy (the service's pointer moved). */
  readonly deploymentPromoted: (serviceId: string, deploymentId: string) => Effect.Effect<void>
  /** After the deployment is marked failed; `reason` is its operator-facing error. */
  readonly deploymentFailed: (serviceId: string, deploymentId: string, reason: string) => Effect.Effect<void>
  /** After an operator stop (pointer cleared, replicas stopped). */
  readonly serviceStopped: (serviceId: string) => Effect.Effect<void>
}

export const makeNotices: Effect.Effect<CoordinatorNotices, never, Events> = Effect.map(Events, (events) => ({
  deploymentPromoted: (serviceId, deploymentId) => events.publish(DomainEvent.DeploymentPromoted({ serviceId, deploymentId })),
  deploymentFailed: (serviceId, deploymentId, reason) => events.publish(DomainEvent.DeploymentFailed({ serviceId, deploymentId, reason })),
  serviceStopped: (serviceId) => events.publish(DomainEvent.ServiceStopped({ serviceId }))
}))
