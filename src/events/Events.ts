/**
 * The one way subsystems react to each other: an in-process PubSub of typed
 * domain events. Publishers never wait for subscribers (unbounded, dropping
 * nothing); each subscriber runs in its own fiber in the caller's scope and a
 * failing handler is logged and does not end its subscription.
 */
import { Context, Effect, Layer, PubSub, Queue, type Scope } from "effect"
import type { DomainEvent, DomainEventTag } from "./DomainEvent.js"

export interface EventsApi {
  readonly publish: (event: DomainEvent) => Effect.Effect<void>
  /** A scoped subscription (for consumers that batch or need the raw queue). */
  readonly subscribe: Effect.Effect<Queue.Dequeue<DomainEvent>, never, Scope.Scope>
  /**
   * Runs `handle` for every event whose tag is in `tags` (all when omitted),
   * in a fiber tied to the caller's scope. The subscription exists when this
   * returns, so no event published afterwards is missed.
   */
  readonly on: <R>(
    name: string,
    tags: ReadonlyArray<DomainEventTag> | undefined,
    handle: (event: DomainEvent) => Effect.Effect<void, unknown, R>
  ) => Effect.Effect<void, never, Scope.Scope | R>
}

export class Events extends Context.Tag("denia/events/Events")<Events, EventsApi>() {
  static readonly layer: Layer.Layer<Events> = Layer.scoped(
    Events,
    Effect.gen(function*() {
      const hub = yield* Effect.acquireRelease(PubSub.unbounded<DomainEvent>(), PubSub.shutdown)
      const subscribe = PubSub.subscribe(hub)
      const on: EventsApi["on"] = (name, tags, handle) =>
        Effect.gen(function*() {
          const queue = yield* subscribe
          const wanted = tags === undefined ? undefined : new Set<string>(tags)
          yield* Queue.take(queue).pipe(
            Effect.flatMap((event) =>
              wanted !== undefined && !wanted.has(event._tag)
                ? Effect.void
                : handle(event).pipe(
                  Effect.catchAllCause((cause) => Effect.logWarning(`${name}: handling ${event._tag} failed`, cause)),
                  Effect.withSpan(`events.${name}`, { attributes: { event: event._tag } })
                )
            ),
            Effect.forever,
            Effect.forkScoped
          )
        })
      return {
        publish: (event) => PubSub.publish(hub, event).pipe(Effect.asVoid),
        subscribe,
        on
      } satisfies EventsApi
    })
  )
}
