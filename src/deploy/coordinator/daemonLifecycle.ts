/**
 * The coordinator at daemon start and shutdown (ADR 0007 boot order, ADR
 * 0012 restarts): fail what a crash left in flight, sweep leftovers, relaunch
 * promoted deployments in place; at shutdown stop every replica without
 * touching the desired state in SQLite.
 */
import { Effect, Either, Option } from "effect"
import { closeSet } from "../replicaSet.js"
import type { Supervisor } from "./supervision.js"
import type { Toolkit } from "./toolkit.js"

const ABORTED = "daemon restarted; deployment aborted"

/** Boot: fail what a crash left in flight, sweep leftovers, restart promoted deployments in place. */
export const bootEffect = (t: Toolkit, supervisor: Supervisor): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { deployments, log, state } = t
    for (const d of yield* deployments.listInFlight) yield* t.finishFailed(d, ABORTED, "none")
    const swept = yield* t.runtime.sweepOrphans.pipe(Effect.either)
    if (Either.isRight(swept)) {
      const r = swept.right
      yield* Effect.logInfo(
        `sweep: removed ${r.replicasRemoved} leftover replica(s), killed ${r.processesKilled} process(es), removed ${r.cgroupsRemoved} cgroup(s)`
      )
    } else yield* Effect.logWarning(`sweep failed: ${swept.left.message}`)
    for (const s of yield* t.services.list({})) {
      if (s.promotedDeploymentId === null) continue
      const promoted = yield* deployments.find(s.promotedDeploymentId)
      if (Option.isNone(promoted)) continue
      const sup = yield* state.supervise(s.id, promoted.value.id)
      // The relaunch at daemon start is a restart event too (restart count + 1, reason unchanged).
      yield* deployments.recordRestart(sup.deploymentId, undefined)
      yield* log.append(sup.deploymentId, "INFO", "daemon started: relaunching the promoted deployment")
      yield* t.spawn(supervisor.restartLive(s.id, sup))
    }
  }).pipe(
    // Boot runs at daemon start with no caller to answer: a database failure is
    // logged (with its cause) and the daemon keeps starting; the API reports the
    // same failure on the next request that touches the database.
    Effect.catchTag("denia/db/DatabaseError", (e) => Effect.logError("coordinator boot: database failure; recovery incomplete", e))
  )

/**
 * Shutdown (a finalizer of the coordinator's scope, registered after the
 * replicas' parent scope and the fiber set): from here on no exit is a crash.
 */
export const shutdownEffect = (t: Toolkit): Effect.Effect<void> =>
  Effect.gen(function*() {
    const sets = yield* t.state.shutdown
    yield* Effect.forEach(sets, closeSet, { concurrency: "unbounded", discard: true })
    yield* Effect.logInfo(
      `shutdown: stopped ${sets.reduce((n, set) => n + set.replicas.length, 0)} replica(s) of ${sets.length} service(s)`
    )
  })
