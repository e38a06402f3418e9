import { Context, type Effect } from "effect"

export interface PublishedReplica {
  readonly id: string
  readonly socketPath: string
}

/**
 * Where deployments announce which replicas of a service receive traffic.
 * The ingress implements it; `publish` swaps the set atomically, `drain`
 * completes once requests in flight on the named replicas have finished.
 */
export interface ReplicaPublisherApi {
  readonly publish: (serviceId: string, replicas: ReadonlyArray<PublishedReplica>) => Effect.Effect<void>
  readonly drain: (serviceId: string, replicaIds: ReadonlyArray<string>) => Effect.Effect<void>
}

export class ReplicaPublisher extends Context.Tag("denia/ReplicaPublisher")<ReplicaPublisher, ReplicaPublisherApi>() {}
