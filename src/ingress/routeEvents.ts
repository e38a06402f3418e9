/**
 * How the route table follows the rest of the daemon: it is rebuilt from the
 * repositories after every event that changes what is routed (services
 * created/updated/deleted, project renamed/deleted), bursts coalescing into
 * one rebuild, and by a slow safety resync that heals a missed event or a
 * failed rebuild. A verified domain wakes the certificate loop. Domains,
 * part of this subsystem, rebuild the table themselves before answering.
 */
import { Duration, Effect, type Scope } from "effect"
import type { DomainEventTag } from "../events/DomainEvent.js"
import { Events } from "../events/Events.js"
import { periodic } from "../platform/periodic.js"

export const ROUTE_EVENTS: ReadonlyArray<DomainEventTag> = [
  "ServiceCreated",
  "ServiceUpdated",
  "ServiceDeleted",
  "ProjectChanged",
  "ProjectDeleted"
]

/** The safety resync: only a missed event or a failed rebuild waits this long. */
export const ROUTE_RESYNC = Duration.seconds(60)

export interface RouteSyncOptions<R> {
  /** Rebuilds the route table from the repositories. */
  readonly rebuild: Effect.Effect<unknown, unknown, R>
  /** Wakes the certificate loop. */
  readonly requestCertificates: Effect.Effect<void>
  readonly resyncEvery?: Duration.DurationInput
}

export const followRouteEvents = <R>(options: RouteSyncOptions<R>): Effect.Effect<void, never, Events | Scope.Scope | R> =>
  Effect.gen(function*() {
    const events = yield* Events
    const resync = yield* periodic({ name: "ingress.routes", every: options.resyncEvery ?? ROUTE_RESYNC, task: options.rebuild })
    yield* events.on("ingress.routes", ROUTE_EVENTS, () => resync.wake)
    yield* events.on("ingress.certificates", ["DomainVerified"], () => options.requestCertificates)
  })
