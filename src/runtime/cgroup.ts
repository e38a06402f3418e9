/**
 * cgroup v2 driver: one cgroup per replica at `<cgroupRoot>/<service>/<replica>`.
 *
 * Modes (detected once, see `detectCgroup`):
 * - `enforced`: cgroupRoot is on cgroup2 and offers cpu, memory and pids;
 *   limits are written and stats come from the cgroup files.
 * - `grouping`: cgroup2 is there but those controllers are not (e.g. a hybrid
 *   host whose controllers are bound to v1): cgroups still group the
 *   replica's processes for `cgroup.kill`, limits are not enforced.
 * - `none`: no usable cgroup2 at cgroupRoot; processes are found through
 *   procfs and killed through the namespace init.
 */
import { Effect, Schedule } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { errorMessage, RuntimeIoError } from "./errors.js"
import type { CgroupMode, ReplicaLimits } from "./types.js"

export const CGROUP2_SUPER_MAGIC = 0x63677270
export const REQUIRED_CONTROLLERS = ["cpu", "memory", "pids"] as const
export const CPU_PERIOD_USEC = 100_000

export interface CgroupSupport {
  readonly mode: CgroupMode
  readonly root: string
  readonly controllers: ReadonlyArray<string>
  readonly reason: string
}

export interface DetectOptions {
  /** Skip the statfs check (fake cgroupfs trees in tests). */
  readonly assumeCgroup2?: boolean
}

const ioError = (op: string, p: string) => (e: unknown) => new RuntimeIoError({ op, path: p, message: errorMessage(e), cause: e })

const readText = (p: string) => Effect.tryPromise({ try: () => fs.readFile(p, "utf8"), catch: ioError("read", p) })

const writeText = (p: string, data: string) => Effect.tryPromise({ try: () => fs.writeFile(p, data), catch: ioError("write", p) })

const exists = (p: string) =>
  Effect.promise(() =>
    fs.access(p).then(
      () => true,
      () => false
    )
  )

/** Nearest existing ancestor (or the path itself). */
const nearestExisting = (p: string): Effect.Effect<string> =>
  exists(p).pipe(
    Effect.flatMap((ok) => {
      const parent = path.dirname(p)
      return ok || parent === p ? Effect.succeed(p) : nearestExisting(parent)
    })
  )

const isCgroup2 = (p: string) =>
  Effect.tryPromise(() => fs.statfs(p)).pipe(
    Effect.map((s) => s.type === CGROUP2_SUPER_MAGIC),
    Effect.orElseSucceed(() => false)
  )

export const parseControllers = (text: string): ReadonlyArray<string> => text.split(/\s+/).filter((c) => c !== "")

/** Decide what cgroupRoot can do. Never fails: problems become mode `none`. */
export const detectCgroup = (root: string, options: DetectOptions = {}): Effect.Effect<CgroupSupport> =>
  Effect.gen(function*() {
    if (!path.isAbsolute(root)) return { mode: "none", root, controllers: [], reason: "cgroup_root is not absolute" } as const
    const anchor = yield* nearestExisting(root)
    const v2 = options.assumeCgroup2 === true || (yield* isCgroup2(anchor))
    if (!v2) {
      return {
        mode: "none",
        root,
        controllers: [],
        reason: `${anchor} is not on a cgroup v2 filesystem`
      } as const
    }
    const controllers = yield* readText(path.join(anchor, "cgroup.controllers")).pipe(
      Effect.map(parseControllers),
      Effect.orElseSucceed((): ReadonlyArray<string> => [])
    )
    const missing = REQUIRED_CONTROLLERS.filter((c) => !controllers.includes(c))
    if (missing.length > 0) {
      return {
        mode: "grouping",
        root,
        controllers,
        reason: `cgroup v2 at ${anchor} lacks controllers: ${missing.join(", ")} (limits not enforced)`
      } as const
    }
    return { mode: "enforced", root, controllers, reason: "cgroup v2 with cpu, memory, pids" } as const
  })

export const cpuMaxValue = (cpuMillis: number): string =>
  `${Math.max(1000, Math.round((cpuMillis * CPU_PERIOD_USEC) / 1000))} ${CPU_PERIOD_USEC}`

const mkdirOwned = (p: string) =>
  Effect.tryPromise({ try: () => fs.mkdir(p, { recursive: true }), catch: ioError("mkdir", p) }).pipe(
    Effect.zipRight(Effect.tryPromise({ try: () => fs.lstat(p), catch: ioError("lstat", p) })),
    Effect.flatMap((st) =>
      st.isDirectory() && !st.isSymbolicLink()
        ? Effect.void
        : Effect.fail(new RuntimeIoError({ op: "mkdir", path: p, message: "not a directory" }))
    )
  )

const enableControllers = (dir: string) =>
  writeText(path.join(dir, "cgroup.subtree_control"), REQUIRED_CONTROLLERS.map((c) => `+${c}`).join(" "))

export interface CgroupStats {
  readonly cpuUsageUsec: number
  readonly memoryBytes: number
  readonly pids: number
}

export const parseCpuStatUsage = (text: string): number => {
  const m = /^usage_usec (\d+)$/m.exec(text)
  return m?.[1] !== undefined ? Number(m[1]) : 0
}

/** The `oom_kill` counter of a `memory.events` file (null when absent). */
export const parseOomKills = (text: string): number | null => {
  const m = /^oom_kill (\d+)$/m.exec(text)
  return m?.[1] !== undefined ? Number(m[1]) : null
}

export interface CgroupDriver {
  readonly support: CgroupSupport
  /** Create `<root>/<service>/<replica>`, enabling controllers on the owned
   * parents and writing limits (enforced mode). `null` in mode `none`. */
  readonly create: (service: string, replica: string, limits: ReplicaLimits) => Effect.Effect<string | null, RuntimeIoError>
  /** Kill every process in the cgroup (`cgroup.kill`, else SIGKILL each pid). */
  readonly kill: (cgroup: string) => Effect.Effect<number>
  /** Wait for the cgroup to empty (bounded), then rmdir it and the service dir if empty. */
  readonly remove: (cgroup: string) => Effect.Effect<boolean>
  readonly pids: (cgroup: string) => Effect.Effect<ReadonlyArray<number>>
  readonly stats: (cgroup: string) => Effect.Effect<CgroupStats, RuntimeIoError>
  /** OOM kills so far (`memory.events` `oom_kill`); null unless limits are enforced and the file says. */
  readonly oomKills: (cgroup: string) => Effect.Effect<number | null>
  /** Leftover replica cgroups (`<root>/<service>/<replica>`). */
  readonly listReplicaCgroups: Effect.Effect<ReadonlyArray<string>>
}

const readPids = (cgroup: string) =>
  readText(path.join(cgroup, "cgroup.procs")).pipe(
    Effect.map((t) =>
      t
        .split("\n")
        .filter((l) => /^\d+$/.test(l))
        .map(Number)
    ),
    Effect.orElseSucceed((): ReadonlyArray<number> => [])
  )

const listDirs = (dir: string) =>
  Effect.tryPromise(() => fs.readdir(dir, { withFileTypes: true })).pipe(
    Effect.map((es) => es.filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name))),
    Effect.orElseSucceed((): ReadonlyArray<string> => [])
  )

export const makeCgroupDriver = (support: CgroupSupport): CgroupDriver => {
  const root = support.root
  const create: CgroupDriver["create"] = (service, replica, limits) =>
    Effect.gen(function*() {
      if (support.mode === "none") return null
      const serviceDir = path.join(root, service)
      const dir = path.join(serviceDir, replica)
      yield* mkdirOwned(root)
      if (support.mode === "enforced") yield* enableControllers(root)
      yield* mkdirOwned(serviceDir)
      if (support.mode === "enforced") yield* enableControllers(serviceDir)
      yield* mkdirOwned(dir)
      if (support.mode === "enforced") {
        if (limits.cpuMillis !== undefined) yield* writeText(path.join(dir, "cpu.max"), cpuMaxValue(limits.cpuMillis))
        if (limits.memoryMb !== undefined) {
          yield* writeText(path.join(dir, "memory.max"), String(limits.memoryMb * 1024 * 1024))
          yield* writeText(path.join(dir, "memory.swap.max"), "0")
        }
        if (limits.pids !== undefined) yield* writeText(path.join(dir, "pids.max"), String(limits.pids))
      }
      return dir
    })

  const kill: CgroupDriver["kill"] = (cgroup) =>
    Effect.gen(function*() {
      const pids = yield* readPids(cgroup)
      const viaFile = yield* writeText(path.join(cgroup, "cgroup.kill"), "1").pipe(
        Effect.as(true),
        Effect.orElseSucceed(() => false)
      )
      if (!viaFile) {
        for (const pid of pids) {
          yield* Effect.try(() => process.kill(pid, "SIGKILL")).pipe(Effect.ignore)
        }
      }
      return pids.length
    })

  const remove: CgroupDriver["remove"] = (cgroup) =>
    Effect.gen(function*() {
      for (let i = 0; i < 200; i++) {
        const pids = yield* readPids(cgroup)
        if (pids.length === 0) break
        yield* Effect.sleep("10 millis")
      }
      // rmdir can briefly report EBUSY while killed tasks finish exiting
      const rmdir = Effect.tryPromise(() => fs.rmdir(cgroup)).pipe(
        Effect.retry({ times: 50, schedule: Schedule.spaced("20 millis"), while: (e) => String(e).includes("EBUSY") })
      )
      const removed = yield* rmdir.pipe(
        Effect.as(true),
        Effect.catchAll(() =>
          // a fake tree holds plain files that a real cgroupfs would not count
          exists(path.join(cgroup, "cgroup.procs")).pipe(
            Effect.flatMap((hasFiles) =>
              hasFiles && support.mode !== "none"
                ? Effect.tryPromise(() => fs.rm(cgroup, { recursive: true })).pipe(
                  Effect.as(true),
                  Effect.orElseSucceed(() => false)
                )
                : Effect.succeed(false)
            )
          )
        )
      )
      yield* Effect.tryPromise(() => fs.rmdir(path.dirname(cgroup))).pipe(Effect.ignore)
      return removed
    })

  const stats: CgroupDriver["stats"] = (cgroup) =>
    Effect.gen(function*() {
      const cpu = yield* readText(path.join(cgroup, "cpu.stat")).pipe(Effect.map(parseCpuStatUsage))
      const mem = yield* readText(path.join(cgroup, "memory.current")).pipe(Effect.map((t) => Number(t.trim()) || 0))
      const pids = yield* readText(path.join(cgroup, "pids.current")).pipe(Effect.map((t) => Number(t.trim()) || 0))
      return { cpuUsageUsec: cpu, memoryBytes: mem, pids }
    })

  const oomKills: CgroupDriver["oomKills"] = (cgroup) =>
    support.mode !== "enforced"
      ? Effect.succeed(null)
      : readText(path.join(cgroup, "memory.events")).pipe(
        Effect.map(parseOomKills),
        Effect.orElseSucceed(() => null)
      )

  const listReplicaCgroups: CgroupDriver["listReplicaCgroups"] = support.mode === "none"
    ? Effect.succeed([])
    : listDirs(root).pipe(
      Effect.flatMap((services) => Effect.forEach(services, listDirs)),
      Effect.map((xs) => xs.flat())
    )

  return { support, create, kill, remove, pids: readPids, stats, oomKills, listReplicaCgroups }
}
