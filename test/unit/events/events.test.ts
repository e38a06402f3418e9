import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Ref } from "effect"
import { DomainEvent } from "../../../src/events/DomainEvent.js"
import { Events } from "../../../src/events/Events.js"

describe("Events", () => {
  it.scoped("delivers published events to every subscriber whose tags match", () =>
    Effect.gen(function*() {
      const events = yield* Events
      const all = yield* Ref.make<Array<string>>([])
      const onlyPromoted = yield* Ref.make<Array<string>>([])
      const done = yield* Deferred.make<void>()
      yield* events.on("all", undefined, (e) => Ref.update(all, (xs) => [...xs, e._tag]))
      yield* events.on("promoted", ["DeploymentPromoted"], (e) =>
        Ref.update(onlyPromoted, (xs) => [...xs, e._tag]).pipe(Effect.zipRight(Deferred.succeed(done, undefined))))
      yield* events.publish(DomainEvent.ServiceCreated({ projectId: "p", serviceId: "s" }))
      yield* events.publish(DomainEvent.DeploymentPromoted({ serviceId: "s", deploymentId: "d" }))
      yield* Deferred.await(done)
      yield* Effect.yieldNow()
      expect(yield* Ref.get(onlyPromoted)).toEqual(["DeploymentPromoted"])
      expect(yield* Ref.get(all)).toEqual(["ServiceCreated", "DeploymentPromoted"])
    }).pipe(Effect.provide(Events.layer)))

  it.scoped("a failing handler is logged and keeps its subscription", () =>
    Effect.gen(function*() {
      const events = yield* Events
      const seen = yield* Ref.make(0)
      const second = yield* Deferred.make<void>()
      yield* events.on("flaky", undefined, () =>
        Ref.updateAndGet(seen, (n) => n + 1).pipe(
          Effect.flatMap((n) => (n === 1 ? Effect.fail("boom") : Deferred.succeed(second, undefined)))
        ))
      yield* events.publish(DomainEvent.ServiceStopped({ serviceId: "a" }))
      yield* events.publish(DomainEvent.ServiceStopped({ serviceId: "b" }))
      yield* Deferred.await(second)
      expect(yield* Ref.get(seen)).toBe(2)
    }).pipe(Effect.provide(Events.layer)))
})
