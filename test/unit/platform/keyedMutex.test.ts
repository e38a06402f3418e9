/** Per-key locks: one holder per key, keys independent, nothing kept once unused. */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref } from "effect"
import { makeKeyedMutex } from "../../../src/platform/keyedMutex.js"

describe("makeKeyedMutex", () => {
  it.scoped("runs effects of one key one at a time, other keys beside them, and releases every lock once unused", () =>
    Effect.gen(function*() {
      const mutex = yield* makeKeyedMutex<string>()
      const order = yield* Ref.make<ReadonlyArray<string>>([])
      const note = (s: string) => Ref.update(order, (o) => [...o, s])
      const gate = yield* Deferred.make<void>()
      const holding = yield* Deferred.make<void>()

      const first = yield* mutex.withLock("a")(
        Effect.zipRight(Deferred.succeed(holding, undefined), Effect.zipRight(Deferred.await(gate), note("a1")))
      ).pipe(Effect.fork)
      yield* Deferred.await(holding)
      const second = yield* mutex.withLock("a")(note("a2")).pipe(Effect.fork)
      // another key is not held up by "a"
      yield* mutex.withLock("b")(note("b1"))
      expect(yield* Ref.get(order)).toEqual(["b1"])
      expect([...(yield* mutex.activeKeys)].sort()).toEqual(["a"])

      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      expect(yield* Ref.get(order)).toEqual(["b1", "a1", "a2"])
      expect(yield* mutex.activeKeys).toEqual([])
    }))

  it.scoped("releases the lock of an effect that fails or is interrupted", () =>
    Effect.gen(function*() {
      const mutex = yield* makeKeyedMutex<string>()
      const failed = yield* mutex.withLock("k")(Effect.fail("boom")).pipe(Effect.flip)
      expect(failed).toBe("boom")
      const holding = yield* Deferred.make<void>()
      const stuck = yield* mutex.withLock("k")(Effect.zipRight(Deferred.succeed(holding, undefined), Effect.never)).pipe(Effect.fork)
      yield* Deferred.await(holding)
      yield* Fiber.interrupt(stuck)
      expect(yield* mutex.withLock("k")(Effect.succeed("free"))).toBe("free")
      expect(yield* mutex.activeKeys).toEqual([])
    }))
})
