/**
 * Operator-facing failure messages: what happened to the workload, in the
 * operator's terms (ports, exit codes, its own stderr), never internal paths.
 */
import type { Project } from "../domain/project.js"
import type { Service } from "../domain/service.js"
import type { ExitStatus } from "../runtime/index.js"

/** Linux signal numbers by name (without `SIG`), for exit reasons and image `STOPSIGNAL`s. */
export const SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  PWR: 30,
  SYS: 31
}

const SIGNAL_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(SIGNALS).map(([name, n]) => [n, `SIG${name}`])
)

/** `9 (SIGKILL)`; a number without a name stays bare. */
export const signalLabel = (n: number): string => (SIGNAL_NAMES[n] === undefined ? String(n) : `${n} (${SIGNAL_NAMES[n]})`)

/**
 * Why the workload ended, in the operator's terms (the same text for the
 * deployment error, the service's `lastExit` and the deploy log):
 * `workload exited (code 1): <last stderr line>`,
 * `workload killed by signal 9 (SIGKILL)`,
 * `workload killed by the kernel OOM killer (memory limit 256 MiB)`.
 */
export const exitReason = (status: ExitStatus, memoryLimitMb?: number): string => {
  const how = status.oomKilled === true
    ? `workload killed by the kernel OOM killer${memoryLimitMb === undefined ? "" : ` (memory limit ${memoryLimitMb} MiB)`}`
    : status.code !== null
    ? `workload exited (code ${status.code})`
    : status.signal !== null
    ? `workload killed by signal ${signalLabel(status.signal)}`
    : "workload ended (status unknown)"
  return status.lastStderr === undefined || status.lastStderr === "" ? how : `${how}: ${status.lastStderr}`
}

/** Socket-level errors that mean the relay inside the replica could not reach the port. */
const RELAY_DROPPED = /\b(EPIPE|ECONNRESET|socket hang up)\b/

/**
 * One failed probe in operator terms. The relay inside the replica accepts on
 * its socket and closes the connection when nothing accepts on the service
 * port, which surfaces here as EPIPE / ECONNRESET / hang-up.
 */
export const probeFailureReason = (raw: string, port: number, exposedPorts: ReadonlyArray<number>): string => {
  if (RELAY_DROPPED.test(raw)) {
    const others = exposedPorts.filter((p) => p !== port)
    const hint = others.length > 0 ? ` (the image exposes ${others.join(", ")})` : ""
    return `nothing listens on port ${port} inside the replica${hint}`
  }
  if (/\b(ECONNREFUSED|ENOENT)\b/.test(raw)) return "the replica is not accepting connections"
  return raw
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Replaces paths below the data dir (sockets, bundles, replica dirs) with `<data dir>/…`. */
export const scrubInternalPaths = (message: string, dataDir: string): string =>
  dataDir === "" || dataDir === "/"
    ? message
    : message.replace(new RegExp(`${escapeRegExp(dataDir)}(?:/[^\\s:;,'")]*)?`, "g"), "<data dir>/…")

/** How the CLI names the service: `web` in the default project, `project/web` elsewhere. */
export const serviceRef = (service: Service, project: Project): string =>
  project.name === "default" ? service.name : `${project.name}/${service.name}`

export const LOGS_HINT_PREFIX = "see: denia logs "

/** Every deploy failure message ends with where to look next. */
export const withLogsHint = (message: string, ref: string): string =>
  message.includes(LOGS_HINT_PREFIX) ? message : `${message}; ${LOGS_HINT_PREFIX}${ref}`
