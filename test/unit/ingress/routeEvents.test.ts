/**
 * The ingress route table follows domain events: each event that changes what
 * is routed triggers a rebuild, other events do not, a verified domain wakes
 * the certificate loop, and the slow safety resync runs without any event.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Queue, TestClock, TestServices } from "effect"
import { DomainEvent } from "../../../src/events/DomainEvent.js"
import { Events } from "../../../src/events/Events.js"
import { followRouteEvents, ROUTE_RESYNC } from "../../../src/ingress/routeEvents.js"

/** Waits (real time, bounded) for the next item; none when nothing came. */
const next = <A>(q: Queue.Queue<A>) =>
  Effect.race(Queue.take(q).pipe(Effect.map(Option.some)), TestServices.provideLive(Effect.as(Effect.sleep("5 seconds"), Option.none<A>())))

const setup = Effect.gen(function*() {
  const rebuilds = yield* Queue.unbounded<"rebuild">()
  const wakes = yield* Queue.unbounded<"certificates">()
  yield* followRouteEvents({
    rebuild: Queue.offer(rebuilds, "rebuild"),
    requestCertificates: Queue.offer(wakes, "certificates").pipe(Effect.asVoid)
  })
  return { events: yield* Events, rebuilds, wakes }
})

describe("ingress route events", () => {
  it.scoped("rebuilds after each service and project change", () =>
    Effect.gen(function*() {
      const { events, rebuilds } = yield* setup
      for (
        const event of [
          DomainEvent.ServiceCreated({ projectId: "p", serviceId: "s" }),
          DomainEvent.ServiceUpdated({ projectId: "p", serviceId: "s" }),
          DomainEvent.ServiceDeleted({ projectId: "p", serviceId: "s" }),
          DomainEvent.ProjectChanged({ projectId: "p" }),
          DomainEvent.ProjectDeleted({ projectId: "p" })
        ]
      ) {
        yield* events.publish(event)
        expect(yield* next(rebuilds), event._tag).toEqual(Option.some("rebuild"))
      }
    }).pipe(Effect.provide(Events.layer)))

  it.scoped("ignores events that do not change routes; a verified domain wakes the certificate loop", () =>
    Effect.gen(function*() {
      const { events, rebuilds, wakes } = yield* setup
      yield* events.publish(DomainEvent.DeploymentPromoted({ serviceId: "s", deploymentId: "d" }))
      yield* events.publish(DomainEvent.ReplicaStarted({ serviceId: "s", replicaId: "r" }))
      yield* events.publish(DomainEvent.DomainVerified({ serviceId: "s", hostname: "app.example.test" }))
      expect(yield* next(wakes)).toEqual(Option.some("certificates"))
      // (Domains rebuild the table themselves before they publish; a rebuild here would be a second one)
      yield* TestServices.provideLive(Effect.sleep("200 millis"))
      expect(yield* Queue.size(rebuilds)).toBe(0)
      yield* events.publish(DomainEvent.ServiceCreated({ projectId: "p", serviceId: "s" }))
      expect(yield* next(rebuilds)).toEqual(Option.some("rebuild"))
    }).pipe(Effect.provide(Events.layer)))

  it.scoped("the safety resync rebuilds without any event", () =>
    Effect.gen(function*() {
      const { rebuilds } = yield* setup
      yield* Effect.yieldNow()
      expect(yield* Queue.size(rebuilds)).toBe(0)
      yield* TestClock.adjust(ROUTE_RESYNC)
      expect(yield* next(rebuilds)).toEqual(Option.some("rebuild"))
    }).pipe(Effect.provide(Events.layer)))
})
