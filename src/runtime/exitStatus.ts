/** How a workload ended, in words (deployment errors, service status, readiness failures). */
import { signalLabel } from "./signals.js"
import type { ExitStatus } from "./types.js"

/**
 * Why the workload ended, in the operator's terms (the same text for the
 * deployment error, the service's `lastExit` and the deploy log):
 * `workload exited (code 1): <last stderr line>`,
 * `workload killed by signal 9 (SIGKILL)`,
 * `workload killed by the kernel OOM killer (memory limit 256 MiB)`.
 * `when` goes before the stderr line (" before it was ready").
 */
export const exitReason = (status: ExitStatus, memoryLimitMb?: number, when = ""): string => {
  const how = status.oomKilled === true
    ? `workload killed by the kernel OOM killer${memoryLimitMb === undefined ? "" : ` (memory limit ${memoryLimitMb} MiB)`}`
    : status.code !== null
    ? `workload exited (code ${status.code})`
    : status.signal !== null
    ? `workload killed by signal ${signalLabel(status.signal)}`
    : "workload ended (status unknown)"
  return status.lastStderr === undefined || status.lastStderr === ""
    ? `${how}${when}`
    : `${how}${when}: ${status.lastStderr}`
}
