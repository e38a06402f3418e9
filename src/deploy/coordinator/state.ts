/**
 * What the coordinator knows in memory about each service: the replica set it
 * runs for the live deployment, the supervision of that deployment (crash
 * count, pending restart) and the newest deployment requested. One
 * SynchronizedRef holds every service's slot; an empty slot is dropped, so
 * nothing grows with services that come and go.
 */
import { Effect, Option, Ref, SynchronizedRef } from "effect"
import type { RunningReplica, RunningSet } from "../replicaSet.js"
import type { CrashView } from "../serviceStatus.js"

/** Replicas a live deployment runs. One today; autoscaling makes it per service. */
export const DESIRED_REPLICAS = 1

/**
 * Supervision of the live deployment of one service. A promotion or a boot
 * relaunch starts a new one (a new `generation`); stop drops it. A pending
 * restart that finds another generation gives up.
 */
export interface Supervision extends CrashView {
  readonly generation: number
  readonly deploymentId: string
}

interface Slot {
  readonly replicaSet: RunningSet | undefined
  readonly supervision: Supervision | undefined
  readonly latestRequested: string | undefined
}

interface Slots {
  readonly byService: ReadonlyMap<string, Slot>
  readonly generation: number
}

const EMPTY: Slot = { replicaSet: undefined, supervision: undefined, latestRequested: undefined }

const isEmpty = (slot: Slot) => slot.replicaSet === undefined && slot.supervision === undefined && slot.latestRequested === undefined

const withSlot = (slots: Slots, serviceId: string, slot: Slot): Slots => {
  const byService = new Map(slots.byService)
  if (isEmpty(slot)) byService.delete(serviceId)
  else byService.set(serviceId, slot)
  return { ...slots, byService }
}

const freshSupervision = (generation: number, deploymentId: string): Supervision => ({
  generation,
  deploymentId,
  crashes: 0,
  lastExit: undefined,
  nextRestartAt: undefined
})

export const makeCoordinatorState = Effect.gen(function*() {
  const ref = yield* SynchronizedRef.make<Slots>({ byService: new Map(), generation: 0 })
  const stopping = yield* Ref.make(false)

  const slotOf = (serviceId: string) => Effect.map(SynchronizedRef.get(ref), (s) => s.byService.get(serviceId) ?? EMPTY)
  /** Applies `f` to one service's slot; returns what `f` returns. */
  const modifySlot = <A>(serviceId: string, f: (slot: Slot, generation: number) => readonly [A, Slot, number?]) =>
    SynchronizedRef.modify(ref, (slots) => {
      const [result, slot, generation] = f(slots.byService.get(serviceId) ?? EMPTY, slots.generation)
      return [result, { ...withSlot(slots, serviceId, slot), generation: generation ?? slots.generation }] as const
    })

  const state = {
    stopping: Ref.get(stopping),
    slotOf,
    replicaSet: (serviceId: string) => Effect.map(slotOf(serviceId), (s) => s.replicaSet),
    supervision: (serviceId: string) => Effect.map(slotOf(serviceId), (s) => s.supervision),

    /** A deployment was queued; older queued ones are superseded by it. */
    requested: (serviceId: string, deploymentId: string) =>
      modifySlot(serviceId, (slot) => [undefined, { ...slot, latestRequested: deploymentId }]),
    latestRequested: (serviceId: string) => Effect.map(slotOf(serviceId), (s) => s.latestRequested),

    /** `set` becomes the live replica set under a new supervision; returns the set it replaces. */
    promote: (serviceId: string, set: RunningSet) =>
      modifySlot(serviceId, (slot, generation) => {
        const supervision = freshSupervision(generation + 1, set.deploymentId)
        return [{ previous: slot.replicaSet, supervision }, { ...slot, replicaSet: set, supervision }, generation + 1]
      }),

    /** A new supervision of `deploymentId` without replicas yet (daemon start). */
    supervise: (serviceId: string, deploymentId: string) =>
      modifySlot(serviceId, (slot, generation) => {
        const supervision = freshSupervision(generation + 1, deploymentId)
        return [supervision, { ...slot, supervision }, generation + 1]
      }),

    /** The supervision is still the service's live one (not replaced, not stopped, no shutdown). */
    isCurrent: (serviceId: string, sup: Supervision) =>
      Effect.flatMap(
        Ref.get(stopping),
        (down) => down ? Effect.succeed(false) : Effect.map(slotOf(serviceId), (s) => s.supervision?.generation === sup.generation)
      ),

    /** Updates the supervision if it is still generation `sup.generation`; None when it was replaced. */
    updateSupervision: (serviceId: string, sup: Supervision, f: (current: Supervision) => Supervision) =>
      modifySlot(serviceId, (slot): readonly [Option.Option<Supervision>, Slot] => {
        if (slot.supervision === undefined || slot.supervision.generation !== sup.generation) return [Option.none(), slot]
        const next = f(slot.supervision)
        return [Option.some(next), { ...slot, supervision: next }]
      }),

    /** Adds relaunched replicas of `deploymentId` to the service's set; returns the set. */
    addReplicas: (serviceId: string, deploymentId: string, replicas: ReadonlyArray<RunningReplica>) =>
      modifySlot(serviceId, (slot) => {
        const current = slot.replicaSet?.deploymentId === deploymentId ? slot.replicaSet.replicas : []
        const replicaSet: RunningSet = { deploymentId, replicas: [...current, ...replicas] }
        return [replicaSet, { ...slot, replicaSet }]
      }),

    /**
     * Takes `replica` out of the service's set (an empty set is dropped).
     * `removed` is false when it was no longer there (replaced, stopped).
     */
    removeReplica: (serviceId: string, replica: RunningReplica) =>
      modifySlot(serviceId, (slot) => {
        const set = slot.replicaSet
        if (set === undefined || !set.replicas.includes(replica)) return [{ removed: false, remaining: set }, slot]
        const rest = set.replicas.filter((r) => r !== replica)
        const remaining: RunningSet | undefined = rest.length === 0 ? undefined : { deploymentId: set.deploymentId, replicas: rest }
        return [{ removed: true, remaining }, { ...slot, replicaSet: remaining }]
      }),

    /** Stop: no supervision (a pending restart gives up), no queued request. */
    forget: (serviceId: string) =>
      modifySlot(serviceId, (slot) => [undefined, { ...slot, supervision: undefined, latestRequested: undefined }]),

    /** Takes the whole replica set out (stop); returns it. */
    takeReplicaSet: (serviceId: string) => modifySlot(serviceId, (slot) => [slot.replicaSet, { ...slot, replicaSet: undefined }]),

    /**
     * Shutdown: from now on no exit is a crash; returns every replica set and
     * drops sets and supervisions (queued requests stay: a pipeline still
     * running is interrupted, and the next boot marks it aborted).
     */
    shutdown: Effect.zipRight(
      Ref.set(stopping, true),
      SynchronizedRef.modify(ref, (slots): readonly [ReadonlyArray<RunningSet>, Slots] => {
        const sets = [...slots.byService.values()].flatMap((s) => (s.replicaSet === undefined ? [] : [s.replicaSet]))
        const next = [...slots.byService].reduce<Slots>(
          (acc, [serviceId, slot]) => withSlot(acc, serviceId, { ...slot, replicaSet: undefined, supervision: undefined }),
          slots
        )
        return [sets, next]
      })
    )
  }
  return state
})

export type CoordinatorState = Effect.Effect.Success<typeof makeCoordinatorState>
