/**
 * Operator-facing failure messages: what happened to the workload, in the
 * operator's terms (ports, exit codes, its own stderr), never internal paths.
 */
import type { Project } from "../domain/project.js"
import type { Service } from "../domain/service.js"

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
