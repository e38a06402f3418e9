/** procfs helpers: process trees, start times and resource figures for hosts
 * (or modes) where cgroup files cannot answer. */
import { Effect } from "effect"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"

/** USER_HZ is 100 on every architecture Linux exports to userspace today. */
const CLOCK_TICKS = 100
const PAGE_SIZE = 4096

export interface ProcStat {
  readonly pid: number
  readonly state: string
  readonly ppid: number
  readonly utime: number
  readonly stime: number
  readonly startTime: number
}

/** Parse `/proc/<pid>/stat` (comm may contain spaces and parens). */
export const parseStat = (text: string): ProcStat | null => {
  const close = text.lastIndexOf(")")
  if (close < 0) return null
  const pid = Number(text.slice(0, text.indexOf(" ")))
  const rest = text.slice(close + 2).split(" ")
  // rest[0] = state (field 3); field n is rest[n - 3]
  const num = (field: number) => Number(rest[field - 3] ?? NaN)
  const ppid = num(4)
  const utime = num(14)
  const stime = num(15)
  const startTime = num(22)
  if ([pid, ppid, utime, stime, startTime].some((n) => !Number.isFinite(n))) return null
  return { pid, state: rest[0] ?? "?", ppid, utime, stime, startTime }
}

export const readStat = (pid: number): Effect.Effect<ProcStat | null> =>
  Effect.try(() => fsSync.readFileSync(`/proc/${pid}/stat`, "utf8")).pipe(
    Effect.map(parseStat),
    Effect.orElseSucceed(() => null)
  )

export const allStats: Effect.Effect<ReadonlyArray<ProcStat>> = Effect.tryPromise(() => fs.readdir("/proc")).pipe(
  Effect.orElseSucceed((): Array<string> => []),
  Effect.flatMap((names) =>
    Effect.forEach(
      names.filter((n) => /^\d+$/.test(n)),
      (n) => readStat(Number(n)),
      { concurrency: 16 }
    )
  ),
  Effect.map((xs) => xs.filter((x): x is ProcStat => x !== null))
)

/** `root` and all its descendants, by ppid links. */
export const processTree = (root: number): Effect.Effect<ReadonlyArray<ProcStat>> =>
  allStats.pipe(
    Effect.map((stats) => {
      const byParent = new Map<number, Array<ProcStat>>()
      let rootStat: ProcStat | undefined
      for (const s of stats) {
        if (s.pid === root) rootStat = s
        const list = byParent.get(s.ppid) ?? []
        list.push(s)
        byParent.set(s.ppid, list)
      }
      if (rootStat === undefined) return []
      const out: Array<ProcStat> = []
      const queue: Array<ProcStat> = [rootStat]
      while (queue.length > 0) {
        const s = queue.shift()
        if (s === undefined) break
        out.push(s)
        for (const c of byParent.get(s.pid) ?? []) queue.push(c)
      }
      return out
    })
  )

export const rssBytes = (pid: number): Effect.Effect<number> =>
  Effect.tryPromise(() => fs.readFile(`/proc/${pid}/statm`, "utf8")).pipe(
    Effect.map((t) => Number(t.split(" ")[1] ?? 0) * PAGE_SIZE),
    Effect.orElseSucceed(() => 0)
  )

export interface TreeStats {
  readonly cpuUsageUsec: number
  readonly memoryBytes: number
  readonly pids: number
}

export const treeStats = (root: number): Effect.Effect<TreeStats> =>
  processTree(root).pipe(
    Effect.flatMap((procs) =>
      Effect.forEach(procs, (p) => rssBytes(p.pid)).pipe(
        Effect.map((rss) => ({
          cpuUsageUsec: procs.reduce((a, p) => a + ((p.utime + p.stime) * 1_000_000) / CLOCK_TICKS, 0),
          memoryBytes: rss.reduce((a, b) => a + b, 0),
          pids: procs.length
        }))
      )
    )
  )

/** Is `pid` still the (non-zombie) process that had `startTime` (guards against pid reuse)? */
export const sameProcess = (pid: number, startTime: number): Effect.Effect<boolean> =>
  readStat(pid).pipe(Effect.map((s) => s !== null && s.state !== "Z" && s.startTime === startTime))

/** Running (exists and is not a zombie waiting for a reaper). */
export const isRunning = (pid: number): Effect.Effect<boolean> =>
  readStat(pid).pipe(Effect.map((s) => s !== null && s.state !== "Z" && s.state !== "X"))
