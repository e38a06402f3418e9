/** Reclaiming replicas left behind by a daemon that died without stopping
 * them: every replica dir carries a state file naming the launcher pid (and
 * its start time, against pid reuse) and cgroup. */
import { Effect, Schema } from "effect"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { CgroupDriver } from "./cgroup.js"
import { pruneEmptyParents, removeTree, runtimeRoot, STATE_FILE } from "./paths.js"
import { isRunning, processTree, sameProcess } from "./procfs.js"
import type { SweepReport } from "./types.js"

export const ReplicaState = Schema.Struct({
  service: Schema.String,
  deployment: Schema.String,
  replica: Schema.String,
  pid: Schema.Number,
  startTime: Schema.Number,
  cgroup: Schema.NullOr(Schema.String)
})
export type ReplicaState = typeof ReplicaState.Type

const decodeState = Schema.decodeUnknown(Schema.parseJson(ReplicaState))

export const writeState = (file: string, state: ReplicaState): Effect.Effect<void> =>
  Effect.try(() => fsSync.writeFileSync(file, JSON.stringify(state), { mode: 0o600 })).pipe(Effect.ignore)

export const readState = (file: string): Effect.Effect<ReplicaState | null> =>
  Effect.tryPromise(() => fs.readFile(file, "utf8")).pipe(
    Effect.flatMap((t) => decodeState(t)),
    Effect.orElseSucceed(() => null)
  )

const subdirs = (dir: string) =>
  Effect.tryPromise(() => fs.readdir(dir, { withFileTypes: true })).pipe(
    Effect.map((es) => es.filter((e) => e.isDirectory() && !e.isSymbolicLink()).map((e) => path.join(dir, e.name))),
    Effect.orElseSucceed((): ReadonlyArray<string> => [])
  )

/** SIGKILL the launcher's process group and every process under it. */
export const killLauncherTree = (pid: number): Effect.Effect<number> =>
  Effect.gen(function*() {
    const tree = yield* processTree(pid)
    yield* Effect.try(() => process.kill(-pid, "SIGKILL")).pipe(Effect.ignore)
    for (const p of tree) yield* Effect.try(() => process.kill(p.pid, "SIGKILL")).pipe(Effect.ignore)
    for (let i = 0; i < 300; i++) {
      const still = yield* Effect.forEach(tree, (p) => isRunning(p.pid))
      if (!still.some((x) => x)) break
      yield* Effect.sleep("10 millis")
    }
    return tree.length
  })

export const sweepReplicaDirs = (
  dataDir: string,
  driver: CgroupDriver,
  owned: ReadonlySet<string>
): Effect.Effect<SweepReport> =>
  Effect.gen(function*() {
    const root = runtimeRoot(dataDir)
    let replicasRemoved = 0
    let processesKilled = 0
    let cgroupsRemoved = 0
    for (const svc of yield* subdirs(root)) {
      for (const dep of yield* subdirs(svc)) {
        for (const rep of yield* subdirs(dep)) {
          const id = path.relative(root, rep)
          if (owned.has(id)) continue
          const state = yield* readState(path.join(rep, STATE_FILE))
          if (state !== null) {
            if (yield* sameProcess(state.pid, state.startTime)) processesKilled += yield* killLauncherTree(state.pid)
            if (state.cgroup !== null) {
              processesKilled += yield* driver.kill(state.cgroup)
              if (yield* driver.remove(state.cgroup)) cgroupsRemoved++
            }
          }
          yield* removeTree(rep)
          yield* pruneEmptyParents(dep, root)
          replicasRemoved++
        }
      }
    }
    // cgroups whose replica dirs were already gone (owned ids are service/deployment/replica)
    for (const cg of yield* driver.listReplicaCgroups) {
      const rel = path.relative(driver.support.root, cg)
      if ([...owned].some((id) => id.startsWith(`${rel.split(path.sep)[0]}/`) && id.endsWith(`/${path.basename(cg)}`))) {
        continue
      }
      processesKilled += yield* driver.kill(cg)
      if (yield* driver.remove(cg)) cgroupsRemoved++
    }
    return { replicasRemoved, processesKilled, cgroupsRemoved }
  })
