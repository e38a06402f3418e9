import { Context, Effect, Layer } from "effect"
import { DomainEvent } from "../events/DomainEvent.js"
import { Events } from "../events/Events.js"
import { ReplicaRegistry } from "../ingress/ReplicaRegistry.js"

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

export class ReplicaPublisher extends Context.Tag("denia/deploy/ReplicaPublisher")<ReplicaPublisher, ReplicaPublisherApi>() {
  /**
   * Traffic goes through the ingress's `ReplicaRegistry`; every replica that
   * enters traffic is published as `ReplicaStarted`, every one that leaves it
   * as `ReplicaStopped` (reason `replaced`: a new set without it; `unpublished`:
   * the service has no healthy replica any more — stopped or exited;
   * `drained`: taken out by a drain).
   */
  static readonly layer: Layer.Layer<ReplicaPublisher, never, ReplicaRegistry | Events> = Layer.effect(
    ReplicaPublisher,
    Effect.gen(function*() {
      const registry = yield* ReplicaRegistry
      const events = yield* Events
      /** The replica ids in traffic, by service, as this publisher last set them. */
      const inTraffic = new Map<string, ReadonlySet<string>>()
      const announce = (serviceId: string, next: ReadonlySet<string>, reason: string) =>
        Effect.gen(function*() {
          const before = inTraffic.get(serviceId) ?? new Set<string>()
          if (next.size === 0) inTraffic.delete(serviceId)
          else inTraffic.set(serviceId, next)
          for (const id of before) {
            if (!next.has(id)) yield* events.publish(DomainEvent.ReplicaStopped({ serviceId, replicaId: id, reason }))
          }
          for (const id of next) if (!before.has(id)) yield* events.publish(DomainEvent.ReplicaStarted({ serviceId, replicaId: id }))
        })
      return {
        publish: (serviceId, replicas) =>
          registry.publish(serviceId, replicas).pipe(
            Effect.zipRight(announce(serviceId, new Set(replicas.map((r) => r.id)), replicas.length === 0 ? "unpublished" : "replaced"))
          ),
        drain: (serviceId, replicaIds) => {
          const leaving = new Set(replicaIds)
          const next = new Set([...(inTraffic.get(serviceId) ?? [])].filter((id) => !leaving.has(id)))
          return announce(serviceId, next, "drained").pipe(Effect.zipRight(registry.drain(serviceId, replicaIds)))
        }
      } satisfies ReplicaPublisherApi
    })
  )
}
