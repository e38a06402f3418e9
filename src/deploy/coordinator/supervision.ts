/**
 * Restart supervision of live deployments (ADR 0012): a replica that exits on
 * its own leaves traffic, the exit is recorded on its deployment (never a new
 * deployment), and the same deployment is relaunched in place after an
 * exponential backoff.
 */
import { Effect, Either, Option } from "effect"
import { exitReason } from "../../runtime/index.js"
import type { RunningReplica } from "../replicaSet.js"
import { closeReplica } from "../replicaSet.js"
import { formatDuration, nextCrashCount, restartDelayMs } from "../restartPolicy.js"
import { DESIRED_REPLICAS, type Supervision } from "./state.js"
import type { Toolkit, WorkloadServices } from "./toolkit.js"

export interface Supervisor {
  /** Watches `replicas` of the live set: each that exits on its own is taken out and restarted with backoff. */
  readonly watch: (serviceId: string, replicas: ReadonlyArray<RunningReplica>, sup: Supervision) => Effect.Effect<void>
  /** Brings the live deployment back to its desired replicas (after a crash, or at daemon start). */
  readonly restartLive: (serviceId: string, sup: Supervision) => Effect.Effect<void, never, WorkloadServices>
}

export const makeSupervisor = (t: Toolkit): Supervisor => {
  const { deployments, log, state } = t

  /**
   * The live deployment's workload ended on its own (or a restart of it did
   * not pass its health gate): record it on the deployment and schedule the
   * next restart with exponential backoff.
   */
  const onCrash = (serviceId: string, sup: Supervision, reason: string, upMs: number) =>
    Effect.gen(function*() {
      const lastExit = t.scrub(reason)
      const updated = yield* state.updateSupervision(serviceId, sup, (current) => {
        const crashes = nextCrashCount(t.policy, current.crashes, upMs)
        return { ...current, crashes, lastExit, nextRestartAt: new Date(Date.now() + restartDelayMs(t.policy, crashes)) }
      })
      if (Option.isNone(updated)) return
      const delay = restartDelayMs(t.policy, updated.value.crashes)
      yield* deployments.recordRestart(sup.deploymentId, lastExit)
      const restarts = Option.match(yield* deployments.find(sup.deploymentId), { onNone: () => 0, onSome: (d) => d.restartCount ?? 0 })
      const ran = upMs > 0 ? ` (after ${formatDuration(upMs)})` : ""
      yield* log.append(sup.deploymentId, "FAILED", `${lastExit}${ran}; restart ${restarts} in ${formatDuration(delay)}`)
      yield* Effect.logInfo(
        `replica crashed: service ${yield* t.refOf(serviceId)} deployment ${sup.deploymentId}: ${lastExit}; restart ${restarts} in ${
          formatDuration(delay)
        }`
      )
      yield* t.spawn(Effect.sleep(delay).pipe(Effect.zipRight(restartLive(serviceId, updated.value))))
    })

  const restartLive = (serviceId: string, sup: Supervision): Effect.Effect<void, never, WorkloadServices> =>
    Effect.gen(function*() {
      const outcome = yield* t.serialized(
        serviceId,
        Effect.gen(function*() {
          const have = (yield* state.replicaSet(serviceId))?.replicas.length ?? 0
          if (!(yield* state.isCurrent(serviceId, sup)) || have >= DESIRED_REPLICAS) return Either.right(undefined)
          yield* state.updateSupervision(serviceId, sup, (current) => ({ ...current, nextRestartAt: undefined }))
          const service = yield* t.services.get(serviceId).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
          if (service.promotedDeploymentId !== sup.deploymentId) return Either.right(undefined)
          const deployment = yield* deployments.get(sup.deploymentId).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
          yield* log.append(deployment.id, "STARTING", "relaunching the replica")
          const launched = yield* t.imageFor(service, deployment).pipe(
            Effect.flatMap((pulled) => t.launchReplicas(service, deployment, pulled, DESIRED_REPLICAS - have)),
            Effect.either
          )
          if (Either.isLeft(launched)) return Either.left(launched.left.message)
          if (!(yield* state.isCurrent(serviceId, sup))) {
            yield* Effect.forEach(launched.right, closeReplica, { discard: true })
            return Either.right(undefined)
          }
          const set = yield* state.addReplicas(serviceId, deployment.id, launched.right)
          yield* t.publishSet(serviceId, set)
          yield* log.append(deployment.id, "HEALTHY", "replica relaunched; receiving traffic")
          yield* watch(serviceId, launched.right, sup)
          return Either.right(undefined)
        })
      )
      if (Either.isLeft(outcome) && (yield* state.isCurrent(serviceId, sup))) yield* onCrash(serviceId, sup, outcome.left, 0)
    }).pipe(
      Effect.catchTag("denia/db/DatabaseError", (e) => Effect.logError("replica restart: database failure", e)),
      Effect.catchAllDefect((d) => Effect.logError("replica restart defect", d))
    )

  const inLiveSet = (serviceId: string, r: RunningReplica) =>
    Effect.map(state.replicaSet(serviceId), (set) => set?.replicas.includes(r) === true)

  const watch: Supervisor["watch"] = (serviceId, replicas, sup) =>
    Effect.forEach(
      replicas,
      (r) =>
        t.spawn(
          Effect.gen(function*() {
            const status = yield* r.replica.exit
            const upMs = Date.now() - r.replica.startedAt.getTime()
            if ((yield* state.stopping) || !(yield* inLiveSet(serviceId, r))) return
            const reason = exitReason(status, r.memoryLimitMb)
            const taken = yield* t.serialized(
              serviceId,
              Effect.gen(function*() {
                const { removed, remaining } = yield* state.removeReplica(serviceId, r)
                if (!removed) return false
                yield* t.publishSet(serviceId, remaining)
                yield* closeReplica(r)
                return true
              })
            )
            if (taken && (yield* state.isCurrent(serviceId, sup))) yield* onCrash(serviceId, sup, reason, upMs)
          }).pipe(Effect.catchTag("denia/db/DatabaseError", (e) => Effect.logError("replica supervision: database failure", e)))
        ),
      { discard: true }
    )

  return { watch, restartLive }
}
