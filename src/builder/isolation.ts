/**
 * How builds are kept from starving the node (ADR 0801). With usable cgroup v2 controllers
 * (`enforced`, see runtime/cgroup.ts) each build gets its own cgroup `<cgroup_root>/builds/<id>` with a
 * low `cpu.weight`, `memory.max` from `build_memory_mb`, a low `io.weight` where the io controller is
 * offered, and `pids.max`; the build is killed through `cgroup.kill` at its timeout. Otherwise (no cgroup
 * v2, or controllers bound to v1 as on hybrid hosts) builds run under `nice -n 19` and `ionice -c3`
 * (idle I/O class): they only get CPU and disk time the services leave over, but their memory is not
 * capped — `doctor` says so.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { detectCgroup } from "../runtime/index.js"

export const BUILD_CPU_WEIGHT = 10
export const BUILD_IO_WEIGHT = 10
export const BUILD_PIDS_MAX = 4096

export interface BuildIsolation {
  /** `cgroup`: limits enforced in a per-build cgroup; `nice`: priority only. */
  readonly mode: "cgroup" | "nice"
  /** Parent of the per-build cgroups (mode `cgroup`). */
  readonly parent: string
  readonly controllers: ReadonlyArray<string>
  /** Why, for doctor and the daemon log. */
  readonly reason: string
}

export const detectBuildIsolation = (cgroupRoot: string): Effect.Effect<BuildIsolation> =>
  Effect.map(detectCgroup(cgroupRoot), (support) =>
    support.mode === "enforced"
      ? {
        mode: "cgroup",
        parent: path.join(support.root, "builds"),
        controllers: support.controllers,
        reason: `builds run in their own cgroup under ${path.join(support.root, "builds")} (cpu.weight ${BUILD_CPU_WEIGHT}, memory.max)`
      }
      : {
        mode: "nice",
        parent: "",
        controllers: [],
        reason: `builds are not resource-limited (${support.reason}); they run under nice -n 19 and ionice -c3`
      })

/** The files a build's cgroup gets, in write order. */
export const buildCgroupSettings = (
  controllers: ReadonlyArray<string>,
  memoryMb: number
): ReadonlyArray<readonly [file: string, value: string]> => [
  ["cpu.weight", String(BUILD_CPU_WEIGHT)],
  ["memory.max", String(memoryMb * 1024 * 1024)],
  ["memory.swap.max", "0"],
  ["pids.max", String(BUILD_PIDS_MAX)],
  ...(controllers.includes("io") ? [["io.weight", `default ${BUILD_IO_WEIGHT}`] as const] : [])
]

export interface BuildCgroup {
  readonly dir: string
  /** Kills every process in it (cgroup.kill, else SIGKILL to each pid). */
  readonly kill: Effect.Effect<void>
}

const tryWrite = (file: string, value: string) => Effect.promise(() => fs.writeFile(file, value).then(() => true, () => false))

/**
 * Creates the build's cgroup (enabling the controllers in the parent first) and removes it when the scope
 * closes. Settings the kernel refuses (e.g. `memory.swap.max` without swap accounting) are skipped.
 */
export const acquireBuildCgroup = (isolation: BuildIsolation, name: string, memoryMb: number) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const dir = path.join(isolation.parent, name)
      yield* Effect.tryPromise(() => fs.mkdir(dir, { recursive: true }))
      const wanted = ["cpu", "memory", "pids", ...(isolation.controllers.includes("io") ? ["io"] : [])]
      yield* tryWrite(path.join(path.dirname(isolation.parent), "cgroup.subtree_control"), wanted.map((c) => `+${c}`).join(" "))
      yield* tryWrite(path.join(isolation.parent, "cgroup.subtree_control"), wanted.map((c) => `+${c}`).join(" "))
      for (const [file, value] of buildCgroupSettings(isolation.controllers, memoryMb)) yield* tryWrite(path.join(dir, file), value)
      const kill = Effect.gen(function*() {
        if (yield* tryWrite(path.join(dir, "cgroup.kill"), "1")) return
        const procs = yield* Effect.promise(() => fs.readFile(path.join(dir, "cgroup.procs"), "utf8").catch(() => ""))
        for (const pid of procs.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
          yield* Effect.sync(() => {
            try {
              process.kill(Number(pid), "SIGKILL")
            } catch {
              // already gone
            }
          })
        }
      })
      return { dir, kill } satisfies BuildCgroup
    }),
    (cg) =>
      cg.kill.pipe(
        Effect.zipRight(Effect.sleep("100 millis")),
        Effect.zipRight(Effect.promise(() => fs.rmdir(cg.dir).catch(() => undefined)))
      )
  )

/**
 * The command line that runs `argv` at low priority, inside `cgroupDir` when there is one: a tiny shell
 * moves itself into the cgroup and then execs, so every process of the build starts inside it.
 */
export const isolatedCommand = (argv: ReadonlyArray<string>, cgroupDir: string | undefined): ReadonlyArray<string> => {
  const niced = ["nice", "-n", "19", "ionice", "-c3", ...argv]
  if (cgroupDir === undefined) return niced
  return ["sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", cgroupDir, ...niced]
}
