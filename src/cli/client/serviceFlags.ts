/**
 * The workload flags of `services create|update`: worker (no port), the
 * health check kind, capabilities and `/dev/shm`. Turned into body fields
 * by pure functions (tested on their own); the API checks the values.
 */
import { Options } from "@effect/cli"
import { Option } from "effect"
import type { Service } from "../../domain/service.js"

export const workloadOptions = {
  worker: Options.boolean("worker").pipe(
    Options.withDescription("No port: no route, no socket, no PORT; healthy when still running after --settle-seconds")
  ),
  healthTcp: Options.boolean("health-tcp").pipe(
    Options.withDescription("Health check: the port accepts a TCP connection (databases, queues)")
  ),
  healthPath: Options.text("health-path").pipe(
    Options.withPseudoName("PATH"),
    Options.withDescription("Health check: HTTP GET of PATH answers 2xx/3xx (the default check, at /)"),
    Options.optional
  ),
  healthTimeout: Options.integer("health-timeout").pipe(
    Options.withPseudoName("SECONDS"),
    Options.withDescription("How long the HTTP/TCP check may take to pass (default 30)"),
    Options.optional
  ),
  settleSeconds: Options.integer("settle-seconds").pipe(
    Options.withPseudoName("SECONDS"),
    Options.withDescription("Workers: healthy when still running after this many seconds (default 5)"),
    Options.optional
  ),
  capAdd: Options.text("cap-add").pipe(
    Options.withPseudoName("CAP"),
    Options.withDescription("Add a capability (repeatable; e.g. NET_ADMIN, SYS_PTRACE)"),
    Options.repeated
  ),
  capDrop: Options.text("cap-drop").pipe(
    Options.withPseudoName("CAP"),
    Options.withDescription("Drop a default capability (repeatable; ALL = none at all)"),
    Options.repeated
  ),
  shmMb: Options.integer("shm-mb").pipe(
    Options.withPseudoName("MIB"),
    Options.withDescription("Size of /dev/shm in MiB (default 64)"),
    Options.optional
  )
}

export interface WorkloadFlags {
  readonly worker: boolean
  readonly healthTcp: boolean
  readonly healthPath: Option.Option<string>
  readonly healthTimeout: Option.Option<number>
  readonly settleSeconds: Option.Option<number>
  readonly capAdd: ReadonlyArray<string>
  readonly capDrop: ReadonlyArray<string>
  readonly shmMb: Option.Option<number>
}

export const noWorkloadFlags: WorkloadFlags = {
  worker: false,
  healthTcp: false,
  healthPath: Option.none(),
  healthTimeout: Option.none(),
  settleSeconds: Option.none(),
  capAdd: [],
  capDrop: [],
  shmMb: Option.none()
}

type Fields = Record<string, unknown>
type Outcome = { readonly fields: Fields } | { readonly error: string }

/**
 * The body fields the flags set, given the service as it is (`current`, for
 * update; undefined for create). `port` is only set by `--worker` (and by the
 * caller's `--port`). Fails naming contradictory flags. Pure.
 */
export const workloadFields = (
  flags: WorkloadFlags,
  current: Pick<Service, "port" | "health" | "capabilities"> | undefined,
  portGiven: boolean
): Outcome => {
  const fields: Fields = {}
  const kinds = [flags.healthTcp ? "--health-tcp" : undefined, Option.isSome(flags.healthPath) ? "--health-path" : undefined].filter((
    x
  ) => x !== undefined)
  if (kinds.length > 1) return { error: `${kinds.join(" and ")} contradict each other: a service has one health check` }
  if (flags.worker) {
    if (portGiven) return { error: "--worker and --port contradict each other: a worker has no port" }
    if (kinds.length > 0) return { error: `--worker and ${kinds[0]} contradict each other: a worker is checked by --settle-seconds` }
    if (Option.isSome(flags.healthTimeout)) return { error: "--health-timeout is for HTTP/TCP checks; a worker uses --settle-seconds" }
    fields["port"] = null
  }
  const worker = flags.worker || (!portGiven && current?.port === null)
  const currentTimeout = current !== undefined && current.health.type !== "running" ? current.health.timeoutSeconds : undefined
  const timeout = Option.getOrUndefined(flags.healthTimeout) ?? currentTimeout
  const withTimeout = timeout === undefined ? {} : { timeoutSeconds: timeout }
  if (Option.isSome(flags.settleSeconds)) {
    if (kinds.length > 0) return { error: `--settle-seconds and ${kinds[0]} contradict each other: --settle-seconds is for workers` }
    if (!worker) return { error: "--settle-seconds is for workers: add --worker (the service then has no port)" }
    fields["health"] = { type: "running", settleSeconds: flags.settleSeconds.value }
  } else if (flags.healthTcp) {
    fields["health"] = { type: "tcp", ...withTimeout }
  } else if (Option.isSome(flags.healthPath)) {
    fields["health"] = { type: "http", path: flags.healthPath.value, ...withTimeout }
  } else if (Option.isSome(flags.healthTimeout)) {
    if (worker) return { error: "--health-timeout is for HTTP/TCP checks; a worker uses --settle-seconds" }
    const health = current?.health
    fields["health"] = health?.type === "tcp"
      ? { type: "tcp", timeoutSeconds: flags.healthTimeout.value }
      : { type: "http", path: health?.type === "http" ? health.path : "/", timeoutSeconds: flags.healthTimeout.value }
  }
  if (flags.capAdd.length > 0 || flags.capDrop.length > 0) {
    const add = flags.capAdd.length > 0 ? flags.capAdd : current?.capabilities.add
    const drop = flags.capDrop.length > 0 ? flags.capDrop : current?.capabilities.drop
    fields["capabilities"] = { ...(add === undefined ? {} : { add }), ...(drop === undefined ? {} : { drop }) }
  }
  if (Option.isSome(flags.shmMb)) fields["shmMb"] = flags.shmMb.value
  return { fields }
}
