import type { Effect } from "effect"
import type { CapabilityName } from "../domain/capabilities.js"

/** Identifies one replica: `<service>/<deployment>/<replica>`. */
export interface ReplicaRef {
  readonly service: string
  readonly deployment: string
  readonly replica: string
}

export const replicaId = (r: ReplicaRef): string => `${r.service}/${r.deployment}/${r.replica}`

export interface ReplicaLimits {
  /** 1000 = one full CPU; written as `cpu.max` `<quota> 100000`. */
  readonly cpuMillis?: number
  readonly memoryMb?: number
  readonly pids?: number
}

export interface ReadinessOptions {
  /** Overall budget for an HTTP status line over the socket (default 10 s). */
  readonly timeoutMs?: number
  /** Request path (default `/`). Any status line counts as ready. */
  readonly path?: string
}

export interface ReplicaSpec extends ReplicaRef {
  /** Absolute path of the unpacked, read-only rootfs bundle (overlay lower). */
  readonly rootfs: string
  /** The rootfs keeps the image's own owners (a bundle made from a build's layer trees): the launcher
   * mounts it idmapped into the namespace's range (ADR 0822). Default: its owners are shifted already. */
  readonly rootfsIdmap?: boolean
  readonly argv: ReadonlyArray<string>
  /** The workload's environment; explicit values always win. The runtime adds `PORT` when `port` is set
   * and, for keys not given, `HOSTNAME`, `HOME` (the uid's home in the image's `/etc/passwd`, else `/`)
   * and a default `PATH`. */
  readonly env: Readonly<Record<string, string>>
  /** Absolute path inside the sandbox (default `/`). */
  readonly workdir?: string
  /** uid/gid inside the user namespace (default 0 = the namespace's root). */
  readonly uid?: number
  readonly gid?: number
  /** Default `<service>-<replica>` (cut to 63 chars). */
  readonly hostname?: string
  /** Listen port inside the sandbox; enables `/run/denia/service.sock` relay. */
  readonly port?: number
  readonly limits?: ReplicaLimits
  /** Wait for HTTP readiness inside `start` (default when `port` is set);
   * `null` returns as soon as the workload has been exec'd. */
  readonly readiness?: ReadinessOptions | null
  /** Capability names (without `CAP_`) kept in the bounding set and, for uid 0, in permitted/effective.
   * Default: the engine default set (`DEFAULT_CAPABILITIES`). `[]` = no capabilities at all. */
  readonly capabilities?: ReadonlyArray<CapabilityName>
  /** Signal number sent to the workload on stop (image `STOPSIGNAL`; default SIGTERM = 15). */
  readonly stopSignal?: number
  /** Size of the `/dev/shm` tmpfs in bytes (default 64 MiB). */
  readonly shmBytes?: number
  /** RLIMIT_NOFILE for the workload (default soft 1024, hard 65536 or the helper's hard limit if higher). */
  readonly nofile?: { readonly soft: number; readonly hard: number }
  /** Contents of the generated `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf` (bind-mounted read-only).
   * Default: localhost entries + own hostname, the hostname, the host's resolvers. */
  readonly etcFiles?: EtcFiles
  /** Join this (already configured) network namespace instead of creating a loopback-only one.
   * Created and torn down by the node network (`src/network/`), never by the runtime. */
  readonly netnsPath?: string
  /** Host directories bind-mounted (nosuid, nodev) into the sandbox before the user namespace is entered. */
  readonly mounts?: ReadonlyArray<BindMount>
}

export interface EtcFiles {
  readonly hosts: string
  readonly hostname: string
  readonly resolvConf: string
}

export interface BindMount {
  /** Absolute host path (a directory; checked for symlinks by the runtime). */
  readonly source: string
  /** Absolute path inside the sandbox (created when missing). */
  readonly target: string
  readonly readOnly: boolean
}

// The capability lists live in the domain (service validation needs them; domain/ stays pure).
export { ADDABLE_CAPABILITIES, type CapabilityName, DEFAULT_CAPABILITIES } from "../domain/capabilities.js"

/** How a workload ended. `code` is set for a normal exit, `signal` when killed. */
export interface ExitStatus {
  readonly code: number | null
  readonly signal: number | null
  /** The workload's last non-blank stderr line, when it wrote one. */
  readonly lastStderr?: string
  /** `true` when the kernel OOM killer struck (the cgroup's `memory.events` `oom_kill` grew; readable only where
   * limits are enforced); absent otherwise. */
  readonly oomKilled?: boolean
}

export interface Replica extends ReplicaRef {
  readonly id: string
  /** Host path of the replica's Unix socket (null without `port`). */
  readonly socketPath: string | null
  /** Host pid of the helper's launcher process. */
  readonly pid: number
  readonly startedAt: Date
  /** `<dataDir>/runtime/<service>/<deployment>/<replica>` */
  readonly dir: string
  /** Completes when the workload has exited (never fails). */
  readonly exit: Effect.Effect<ExitStatus>
}

export type ReplicaState = "running" | "exited"

export interface ReplicaInfo extends ReplicaRef {
  readonly id: string
  readonly pid: number
  readonly socketPath: string | null
  readonly startedAt: Date
  readonly state: ReplicaState
  readonly exitStatus: ExitStatus | null
  readonly cgroup: string | null
}

export interface ReplicaStats {
  /** Cumulative CPU time of the replica's processes, microseconds. */
  readonly cpuUsageUsec: number
  readonly memoryBytes: number
  readonly pids: number
  readonly limitsEnforced: boolean
  readonly source: "cgroup" | "procfs"
}

export interface ServiceLogs {
  readonly path: string
  readonly lines: ReadonlyArray<string>
}

export interface SweepReport {
  readonly replicasRemoved: number
  readonly processesKilled: number
  readonly cgroupsRemoved: number
}

export type CgroupMode = "enforced" | "grouping" | "none"

/** What the host gives the runtime; surfaced by `status` and `doctor`. */
export interface RuntimeStatus {
  readonly limitsEnforced: boolean
  readonly cgroupMode: CgroupMode
  readonly cgroupReason: string
  readonly helperPath: string
}

/** Plain options for `Runtime.layer` (the daemon maps its Config onto this). */
export interface RuntimeOptions {
  readonly dataDir: string
  readonly usernsBase: number
  readonly usernsSize: number
  readonly cgroupRoot: string
  readonly helperPath: string
  /** SIGTERM → SIGKILL grace when stopping a replica. */
  readonly stopGraceMs: number
  /** Size cap of `<dataDir>/logs/services/<service>.log` before rotation. */
  readonly logMaxBytes: number
  /** Max wait for the helper's `ready`/`failed` line (default 15 s). */
  readonly launchTimeoutMs?: number
}
