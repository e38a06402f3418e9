/** The namespace pool (TestClock, fake builds): fill, take, refill after the delay, retry pause after a failure, discard on close. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Ref, Scope, TestClock } from "effect"
import type { ReplicaLink } from "../../../src/network/hostNetwork.js"
import { makeNamespacePool } from "../../../src/network/namespacePool.js"

const link = (n: number): ReplicaLink => ({ address: `10.0.0.${n}`, netns: `ns${n}`, veth: `dn${n}` })

/** Lets forked fibers run until they block (on the clock or the wake queue). */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("namespace pool", () => {
  it.effect("fills after the delay, hands out ready namespaces, refills after a take, discards the rest on close", () =>
    Effect.gen(function*() {
      const built = yield* Ref.make(0)
      const discarded: Array<ReplicaLink> = []
      const scope = yield* Scope.make()
      const pool = yield* Scope.extend(
        makeNamespacePool({
          size: 2,
          refillDelayMs: 100,
          create: Ref.updateAndGet(built, (n) => n + 1).pipe(Effect.map(link)),
          discard: (ls) => Effect.sync(() => void discarded.push(...ls))
        }),
        scope
      )
      yield* settle
      expect(yield* pool.ready).toBe(0)
      expect(yield* pool.take).toBeUndefined()
      yield* TestClock.adjust("100 millis")
      yield* settle
      expect(yield* pool.ready).toBe(2)
      expect(yield* pool.take).toEqual(link(1))
      expect(yield* pool.ready).toBe(1)
      yield* settle
      expect(yield* Ref.get(built)).toBe(2)
      yield* TestClock.adjust("100 millis")
      yield* settle
      expect(yield* pool.ready).toBe(2)
      expect(yield* Ref.get(built)).toBe(3)
      yield* Scope.close(scope, Exit.void)
      expect(discarded).toEqual([link(2), link(3)])
    }))

  it.effect("pauses 10 s after a failed build instead of retrying at once", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const pool = yield* Effect.scoped(Effect.gen(function*() {
        const p = yield* makeNamespacePool({
          size: 1,
          refillDelayMs: 0,
          create: Ref.updateAndGet(attempts, (n) => n + 1).pipe(
            Effect.flatMap((n) => (n === 1 ? Effect.fail("no veth") : Effect.succeed(link(n))))
          ),
          discard: () => Effect.void
        })
        yield* TestClock.adjust("0 millis")
        yield* settle
        expect(yield* Ref.get(attempts)).toBe(1)
        expect(yield* p.ready).toBe(0)
        yield* TestClock.adjust("9 seconds")
        yield* settle
        expect(yield* Ref.get(attempts)).toBe(1)
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(yield* Ref.get(attempts)).toBe(2)
        return yield* p.ready
      }))
      expect(pool).toBe(1)
    }))

  it.effect("size 0 keeps nothing and never builds", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const ready = yield* Effect.scoped(Effect.gen(function*() {
        const p = yield* makeNamespacePool({
          size: 0,
          refillDelayMs: 0,
          create: Ref.updateAndGet(attempts, (n) => n + 1).pipe(Effect.map(link)),
          discard: () => Effect.void
        })
        expect(yield* p.take).toBeUndefined()
        yield* TestClock.adjust("1 minute")
        return yield* p.ready
      }))
      expect(ready).toBe(0)
      expect(yield* Ref.get(attempts)).toBe(0)
    }))
})
