/** The coordinator's in-memory state: replica sets, supervision generations, queued requests, shutdown. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Scope } from "effect"
import { makeCoordinatorState } from "../../../src/deploy/coordinator/state.js"
import type { RunningReplica } from "../../../src/deploy/replicaSet.js"

const replica = (id: string): RunningReplica => ({
  replica: {
    service: "s",
    deployment: "d",
    replica: id,
    id: `s/d/${id}`,
    socketPath: null,
    pid: 1,
    startedAt: new Date(0),
    dir: "/nonexistent",
    exit: Effect.never
  },
  scope: Effect.runSync(Scope.make()),
  memoryLimitMb: 256
})

describe("coordinator state", () => {
  it.effect("a replica set shrinks per replica and is dropped when its last replica leaves", () =>
    Effect.gen(function*() {
      const state = yield* makeCoordinatorState
      const [a, b] = [replica("a"), replica("b")]
      yield* state.promote("svc", { deploymentId: "d1", replicas: [a, b] })
      const first = yield* state.removeReplica("svc", a)
      expect(first.removed).toBe(true)
      expect(first.remaining?.replicas).toEqual([b])
      expect((yield* state.removeReplica("svc", a)).removed).toBe(false)
      expect((yield* state.removeReplica("svc", b)).remaining).toBeUndefined()
      expect(yield* state.replicaSet("svc")).toBeUndefined()
      expect((yield* state.addReplicas("svc", "d1", [a])).replicas).toEqual([a])
    }))

  it.effect("a replaced supervision is no longer current and ignores updates; stop forgets it", () =>
    Effect.gen(function*() {
      const state = yield* makeCoordinatorState
      const old = yield* state.supervise("svc", "d1")
      const { supervision: live } = yield* state.promote("svc", { deploymentId: "d2", replicas: [replica("a")] })
      expect(yield* state.isCurrent("svc", old)).toBe(false)
      expect(yield* state.isCurrent("svc", live)).toBe(true)
      expect(yield* state.updateSupervision("svc", old, (s) => ({ ...s, crashes: 9 }))).toEqual(Option.none())
      expect((yield* state.supervision("svc"))?.crashes).toBe(0)
      yield* state.forget("svc")
      expect(yield* state.isCurrent("svc", live)).toBe(false)
      expect((yield* state.takeReplicaSet("svc"))?.deploymentId).toBe("d2")
      expect(yield* state.slotOf("svc")).toEqual({ replicaSet: undefined, supervision: undefined, latestRequested: undefined })
    }))

  it.effect("shutdown returns every set, ends supervision and keeps queued requests", () =>
    Effect.gen(function*() {
      const state = yield* makeCoordinatorState
      const { supervision } = yield* state.promote("one", { deploymentId: "d1", replicas: [replica("a")] })
      yield* state.promote("two", { deploymentId: "d2", replicas: [replica("b")] })
      yield* state.requested("two", "d3")
      const sets = yield* state.shutdown
      expect(sets.map((s) => s.deploymentId).sort()).toEqual(["d1", "d2"])
      expect(yield* state.stopping).toBe(true)
      expect(yield* state.isCurrent("one", supervision)).toBe(false)
      expect(yield* state.replicaSet("one")).toBeUndefined()
      expect(yield* state.latestRequested("two")).toBe("d3")
    }))
})
