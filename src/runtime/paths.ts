/** Replica directory layout and the path checks done before any write. */
import { Effect } from "effect"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { errorMessage, RuntimeIoError, RuntimeLaunchError, UnsafePathError } from "./errors.js"
import type { ReplicaRef } from "./types.js"

/** sun_path is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107
export const SOCKET_NAME = "service.sock"
export const STATE_FILE = "state.json"

export interface ReplicaDirs {
  readonly dir: string
  readonly upper: string
  readonly work: string
  readonly merged: string
  readonly sock: string
  /** Generated `/etc` files (hosts, hostname, resolv.conf) bound into the sandbox. */
  readonly etc: string
  readonly socketPath: string
  readonly stateFile: string
}

export const runtimeRoot = (dataDir: string): string => path.join(dataDir, "runtime")

export const replicaDirs = (dataDir: string, ref: ReplicaRef): ReplicaDirs => {
  const dir = path.join(runtimeRoot(dataDir), ref.service, ref.deployment, ref.replica)
  return {
    dir,
    upper: path.join(dir, "upper"),
    work: path.join(dir, "work"),
    merged: path.join(dir, "merged"),
    sock: path.join(dir, "sock"),
    etc: path.join(dir, "etc"),
    socketPath: path.join(dir, "sock", SOCKET_NAME),
    stateFile: path.join(dir, STATE_FILE)
  }
}

/** Metadata calls on the launch path are synchronous: each is microseconds,
 * and a round trip through the libuv pool per call costs more than the call. */
const lstatOrNull = (p: string) => Effect.sync(() => fsSync.lstatSync(p, { throwIfNoEntry: false }) ?? null)

/** Create `base/a/b/c` one component at a time; every existing component
 * must be a real directory (a symlink anywhere below base is refused). */
export const mkdirsBelow = (
  base: string,
  rel: ReadonlyArray<string>,
  mode = 0o700
): Effect.Effect<string, UnsafePathError | RuntimeIoError> =>
  Effect.gen(function*() {
    let cur = base
    for (const comp of rel) {
      cur = path.join(cur, comp)
      const st = yield* lstatOrNull(cur)
      if (st === null) {
        yield* Effect.try({
          try: () => fsSync.mkdirSync(cur, { mode }),
          catch: (e) => new RuntimeIoError({ op: "mkdir", path: cur, message: errorMessage(e), cause: e })
        }).pipe(Effect.catchIf((e) => e.message.includes("EEXIST"), () => Effect.void))
        const again = yield* lstatOrNull(cur)
        if (again === null || !again.isDirectory() || again.isSymbolicLink()) {
          return yield* Effect.fail(new UnsafePathError({ path: cur, message: "not a directory after mkdir" }))
        }
      } else if (st.isSymbolicLink()) {
        return yield* Effect.fail(new UnsafePathError({ path: cur, message: "is a symlink; refused" }))
      } else if (!st.isDirectory()) {
        return yield* Effect.fail(new UnsafePathError({ path: cur, message: "is not a directory" }))
      }
    }
    return cur
  })

/** Paths inside a bundle that the launcher creates or mounts onto. */
const touchedInRootfs = (workdir: string): ReadonlyArray<string> => {
  const fixed = ["dev", "proc", "sys", "tmp", "run", "run/denia", ".denia", ".denia/denia-init"]
  const wd = workdir.split("/").filter((c) => c !== "")
  const prefixes = wd.map((_, i) => wd.slice(0, i + 1).join("/"))
  return [...fixed, ...prefixes]
}

/** The rootfs bundle must be a real absolute directory usable as an overlay
 * lower dir, and none of the paths the launcher writes through may be a
 * symlink (`run -> /etc` would otherwise aim a mount at the host). Runs
 * before anything is created for the replica. */
export const checkRootfs = (rootfs: string, workdir: string): Effect.Effect<void, RuntimeLaunchError> =>
  Effect.gen(function*() {
    const refuse = (message: string) => Effect.fail(new RuntimeLaunchError({ stage: "rootfs", message }))
    if (!path.isAbsolute(rootfs) || /[,:\\]/.test(rootfs) || path.normalize(rootfs) !== rootfs.replace(/\/+$/, "")) {
      return yield* refuse(`rootfs ${rootfs} must be a normalized absolute path without ',', ':' or '\\'`)
    }
    const st = yield* lstatOrNull(rootfs)
    if (st === null || !st.isDirectory()) return yield* refuse(`rootfs ${rootfs} is not a directory`)
    const real = yield* Effect.try(() => fsSync.realpathSync(rootfs)).pipe(Effect.orElseSucceed(() => ""))
    if (real !== path.resolve(rootfs)) return yield* refuse(`rootfs ${rootfs} has a symlink in its path`)
    if (workdir.split("/").includes("..")) return yield* refuse(`workdir ${workdir} must not contain '..'`)
    for (const rel of touchedInRootfs(workdir)) {
      const s = yield* lstatOrNull(path.join(rootfs, rel))
      if (s === null) continue
      if (s.isSymbolicLink()) return yield* refuse(`/${rel} in the rootfs is a symlink; refused`)
      if (rel === ".denia/denia-init" ? s.isDirectory() : !s.isDirectory()) {
        return yield* refuse(`/${rel} in the rootfs has the wrong type`)
      }
    }
  })

export const removeTree = (p: string): Effect.Effect<void> =>
  Effect.tryPromise(() => fs.rm(p, { recursive: true, force: true, maxRetries: 3 })).pipe(Effect.ignore)

/** rmdir `dir` and then its parents up to (not including) `stop`, while empty. */
export const pruneEmptyParents = (dir: string, stop: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    let cur = dir
    while (cur.startsWith(stop + path.sep) && cur !== stop) {
      const ok = yield* Effect.tryPromise(() => fs.rmdir(cur)).pipe(
        Effect.as(true),
        Effect.orElseSucceed(() => false)
      )
      if (!ok) return
      cur = path.dirname(cur)
    }
  })
