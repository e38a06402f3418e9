import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Queue, Ref, TestClock, TestServices } from "effect"
import { periodic } from "../../../src/platform/periodic.js"

describe("periodic", () => {
  it.scoped("runs once per period and survives a failing tick", () =>
    Effect.gen(function*() {
      const ticks = yield* Ref.make(0)
      yield* periodic({
        name: "test-loop",
        every: "1 minute",
        task: Ref.updateAndGet(ticks, (n) => n + 1).pipe(Effect.flatMap((n) => (n === 2 ? Effect.fail("tick 2 fails") : Effect.void)))
      })
      yield* Effect.yieldNow()
      expect(yield* Ref.get(ticks)).toBe(0)
      for (let i = 0; i < 3; i++) yield* TestClock.adjust("1 minute")
      expect(yield* Ref.get(ticks)).toBe(3)
    }))

  it.scoped("immediate runs the first tick at once; wake runs the next one early", () =>
    Effect.gen(function*() {
      const ticks = yield* Queue.unbounded<number>()
      const count = yield* Ref.make(0)
      const loop = yield* periodic({
        name: "woken",
        every: "1 hour",
        immediate: true,
        task: Ref.updateAndGet(count, (n) => n + 1).pipe(Effect.flatMap((n) => Queue.offer(ticks, n)))
      })
      // the test clock never moves here, so a second tick can only come from wake
      const within = <A>(e: Effect.Effect<A>) =>
        Effect.race(e.pipe(Effect.map(Option.some)), TestServices.provideLive(Effect.as(Effect.sleep("5 seconds"), Option.none<A>())))
      expect(yield* within(Queue.take(ticks))).toEqual(Option.some(1))
      yield* loop.wake
      expect(yield* within(Queue.take(ticks))).toEqual(Option.some(2))
    }))
})
