/** Validation of a ReplicaSpec and its translation into the helper's JSON launch spec. */
import { Effect } from "effect"
import * as path from "node:path"
import { InvalidReplicaSpec } from "./errors.js"
import type { ReplicaDirs } from "./paths.js"
import type { ReplicaSpec } from "./types.js"

const MAX_LIST = 255
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/
const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/

/** JSON shape read by `denia-init launch` (src/runtime/native/spec.c). */
export interface LaunchSpec {
  readonly rootfs: string
  readonly upper: string
  readonly work: string
  readonly merged: string
  readonly sockDir: string
  readonly cgroup: string
  readonly hostname: string
  readonly workdir: string
  readonly argv: ReadonlyArray<string>
  readonly env: ReadonlyArray<string>
  readonly uid: number
  readonly gid: number
  readonly usernsBase: number
  readonly usernsSize: number
  readonly port: number
}

const bad = (field: string, message: string) => Effect.fail(new InvalidReplicaSpec({ field, message }))

export const defaultHostname = (spec: ReplicaSpec): string => `${spec.service}-${spec.replica}`.slice(0, 63).replace(/-+$/, "")

export const validateSpec = (spec: ReplicaSpec, usernsSize: number): Effect.Effect<void, InvalidReplicaSpec> =>
  Effect.gen(function*() {
    if (spec.argv.length === 0) return yield* bad("argv", "argv must name a program")
    if (spec.argv.length > MAX_LIST) return yield* bad("argv", `at most ${MAX_LIST} arguments`)
    if (spec.argv.some((a) => a.includes("\0"))) return yield* bad("argv", "arguments must not contain NUL")
    const env = Object.entries(spec.env)
    if (env.length + 1 > MAX_LIST) return yield* bad("env", `at most ${MAX_LIST - 1} variables`)
    for (const [k, v] of env) {
      if (!ENV_KEY.test(k)) return yield* bad("env", `variable name ${JSON.stringify(k)} is not valid`)
      if (v.includes("\0")) return yield* bad("env", `value of ${k} contains NUL`)
    }
    for (
      const [field, id] of [
        ["uid", spec.uid ?? 0],
        ["gid", spec.gid ?? 0]
      ] as const
    ) {
      if (!Number.isInteger(id) || id < 0 || id >= Math.min(usernsSize, 65535)) {
        return yield* bad(field, `${field} must be an integer in [0, ${Math.min(usernsSize, 65535)})`)
      }
    }
    if (spec.port !== undefined && (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535)) {
      return yield* bad("port", "port must be an integer in 1..65535")
    }
    const wd = spec.workdir ?? "/"
    if (!path.posix.isAbsolute(wd) || wd.includes("\0") || wd.split("/").includes("..")) {
      return yield* bad("workdir", "workdir must be an absolute path without '..'")
    }
    const host = spec.hostname ?? defaultHostname(spec)
    if (!HOSTNAME.test(host)) return yield* bad("hostname", "hostname must be a DNS label")
    const l = spec.limits
    if (l !== undefined) {
      for (const [k, v] of Object.entries(l)) {
        if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v <= 0)) {
          return yield* bad(`limits.${k}`, "limits must be positive integers")
        }
      }
    }
  })

export const toLaunchSpec = (
  spec: ReplicaSpec,
  dirs: ReplicaDirs,
  cgroup: string | null,
  userns: { readonly base: number; readonly size: number }
): LaunchSpec => {
  const env = Object.entries(spec.env)
    .filter(([k]) => spec.port === undefined || k !== "PORT")
    .map(([k, v]) => `${k}=${v}`)
  if (spec.port !== undefined) env.push(`PORT=${spec.port}`)
  return {
    rootfs: path.resolve(spec.rootfs),
    upper: dirs.upper,
    work: dirs.work,
    merged: dirs.merged,
    sockDir: dirs.sock,
    cgroup: cgroup ?? "",
    hostname: spec.hostname ?? defaultHostname(spec),
    workdir: path.posix.normalize(spec.workdir ?? "/"),
    argv: spec.argv,
    env,
    uid: spec.uid ?? 0,
    gid: spec.gid ?? 0,
    usernsBase: userns.base,
    usernsSize: userns.size,
    port: spec.port ?? 0
  }
}
