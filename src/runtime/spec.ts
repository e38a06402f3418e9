/** Validation of a ReplicaSpec and its translation into the helper's JSON launch spec. */
import { Effect } from "effect"
import * as path from "node:path"
import { capabilityMask, isCapabilityName } from "./capabilities.js"
import { InvalidReplicaSpec } from "./errors.js"
import type { EtcFilePaths } from "./etcFiles.js"
import type { ReplicaDirs } from "./paths.js"
import { DEFAULT_CAPABILITIES, type ReplicaSpec } from "./types.js"

const MAX_LIST = 255
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/
const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/

/** JSON shape read by `denia-init launch` (src/runtime/native/spec.c). */
export interface LaunchSpec {
  readonly rootfs: string
  /** 1: the rootfs keeps the image's owners and is mounted idmapped (ADR 0822). */
  readonly rootfsIdmap: 0 | 1
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
  readonly capMask: number
  readonly stopSignal: number
  readonly shmBytes: number
  readonly nofileSoft: number
  /** 0 = max(65536, the helper's own hard limit). */
  readonly nofileHard: number
  readonly etcHosts: string
  readonly etcHostname: string
  readonly etcResolvConf: string
  readonly netnsPath: string
  /** Flat (mode, source, target) triples, mode `ro` or `rw`. */
  readonly mounts: ReadonlyArray<string>
}

export const DEFAULT_SHM_BYTES = 64 * 1024 * 1024
export const DEFAULT_NOFILE_SOFT = 1024
export const DEFAULT_STOP_SIGNAL = 15
/** The kernel's default `fs.nr_open`: no RLIMIT_NOFILE can go higher. */
export const MAX_NOFILE = 1024 * 1024
export const MAX_MOUNTS = 32
const MAX_SHM_BYTES = 2 ** 40
const SIGSTOP = 19
/** Mount targets the runtime itself owns inside the sandbox (and everything below them). */
const RESERVED_TARGETS = ["/proc", "/sys", "/dev", "/run/denia", "/.denia", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"]
/** Parents of runtime-managed paths: a mount there would hide them (subdirectories are fine). */
const RESERVED_PARENTS = ["/etc", "/run"]

const bad = (field: string, message: string) => Effect.fail(new InvalidReplicaSpec({ field, message }))

const isPosInt = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n > 0

/** Absolute, normalized, without NUL or `..`. */
const isCleanAbsolute = (p: string): boolean =>
  path.posix.isAbsolute(p) && !p.includes("\0") && path.posix.normalize(p) === p && !p.split("/").includes("..")

const validateExtras = (spec: ReplicaSpec): Effect.Effect<void, InvalidReplicaSpec> =>
  Effect.gen(function*() {
    if (spec.capabilities !== undefined) {
      for (const c of spec.capabilities) {
        if (typeof c !== "string" || !isCapabilityName(c)) {
          return yield* bad("capabilities", `capabilities: ${JSON.stringify(c)} is not a capability that can be granted`)
        }
      }
    }
    const sig = spec.stopSignal
    if (sig !== undefined && (!isPosInt(sig) || sig > 64 || sig === SIGSTOP)) {
      return yield* bad("stopSignal", "stopSignal must be a signal number in 1..64 other than SIGSTOP")
    }
    if (spec.shmBytes !== undefined && (!isPosInt(spec.shmBytes) || spec.shmBytes < 4096 || spec.shmBytes > MAX_SHM_BYTES)) {
      return yield* bad("shmBytes", "shmBytes must be an integer from 4096 to 1 TiB")
    }
    const nf = spec.nofile
    if (nf !== undefined) {
      if (!isPosInt(nf.soft) || !isPosInt(nf.hard) || nf.hard > MAX_NOFILE || nf.soft > nf.hard) {
        return yield* bad("nofile", `nofile needs integers 1 <= soft <= hard <= ${MAX_NOFILE}`)
      }
    }
    const etc = spec.etcFiles
    if (etc !== undefined) {
      for (const [k, v] of Object.entries(etc)) {
        if (typeof v !== "string" || Buffer.byteLength(v) > 64 * 1024 || v.includes("\0")) {
          return yield* bad(`etcFiles.${k}`, `etcFiles.${k} must be text of at most 64 KiB without NUL`)
        }
      }
    }
    if (spec.netnsPath !== undefined && !isCleanAbsolute(spec.netnsPath)) {
      return yield* bad("netnsPath", "netnsPath must be a normalized absolute path")
    }
    const mounts = spec.mounts ?? []
    if (mounts.length > MAX_MOUNTS) return yield* bad("mounts", `at most ${MAX_MOUNTS} mounts`)
    const targets = new Set<string>()
    for (const [i, m] of mounts.entries()) {
      if (!isCleanAbsolute(m.source) || m.source === "/") {
        return yield* bad(`mounts[${i}].source`, `mounts[${i}].source must be a normalized absolute path other than /`)
      }
      if (!isCleanAbsolute(m.target) || m.target === "/") {
        return yield* bad(`mounts[${i}].target`, `mounts[${i}].target must be a normalized absolute path other than /`)
      }
      if (RESERVED_PARENTS.includes(m.target) || RESERVED_TARGETS.some((r) => m.target === r || m.target.startsWith(`${r}/`))) {
        return yield* bad(`mounts[${i}].target`, `mounts[${i}].target ${m.target} is managed by the runtime`)
      }
      if (targets.has(m.target)) return yield* bad(`mounts[${i}].target`, `mounts[${i}].target ${m.target} is mounted twice`)
      targets.add(m.target)
      if (typeof m.readOnly !== "boolean") return yield* bad(`mounts[${i}].readOnly`, `mounts[${i}].readOnly must be a boolean`)
    }
  })

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
    yield* validateExtras(spec)
  })

/** What the runtime computed from the image and wrote for this replica. */
export interface LaunchExtras {
  /** Env defaults (`HOSTNAME`, `HOME`, `PATH`) for keys the spec's env does not set. */
  readonly envDefaults: Readonly<Record<string, string>>
  readonly etc: EtcFilePaths | null
}

export const toLaunchSpec = (
  spec: ReplicaSpec,
  dirs: ReplicaDirs,
  cgroup: string | null,
  userns: { readonly base: number; readonly size: number },
  extras: LaunchExtras = { envDefaults: {}, etc: null }
): LaunchSpec => {
  const explicit = Object.entries(spec.env).filter(([k]) => spec.port === undefined || k !== "PORT")
  const defaults = Object.entries(extras.envDefaults).filter(([k]) => spec.env[k] === undefined && k !== "PORT")
  const env = [...explicit, ...defaults].map(([k, v]) => `${k}=${v}`)
  if (spec.port !== undefined) env.push(`PORT=${spec.port}`)
  return {
    rootfs: path.resolve(spec.rootfs),
    rootfsIdmap: spec.rootfsIdmap === true ? 1 : 0,
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
    port: spec.port ?? 0,
    capMask: capabilityMask(spec.capabilities ?? DEFAULT_CAPABILITIES),
    stopSignal: spec.stopSignal ?? DEFAULT_STOP_SIGNAL,
    shmBytes: spec.shmBytes ?? DEFAULT_SHM_BYTES,
    nofileSoft: spec.nofile?.soft ?? DEFAULT_NOFILE_SOFT,
    nofileHard: spec.nofile?.hard ?? 0,
    etcHosts: extras.etc?.hosts ?? "",
    etcHostname: extras.etc?.hostname ?? "",
    etcResolvConf: extras.etc?.resolvConf ?? "",
    netnsPath: spec.netnsPath ?? "",
    mounts: (spec.mounts ?? []).flatMap((m) => [m.readOnly ? "ro" : "rw", m.source, m.target])
  }
}
