/** How a workload ended, in words (deployment errors, service status, readiness failures). */
import type { ExitStatus } from "./types.js"

/** `workload exited (code 1): <last stderr line>`, `workload was killed by the OOM killer (signal 9)`, …;
 * `when` goes before the stderr line (" before it was ready"). */
export const describeExit = (st: ExitStatus, when = ""): string => {
  const how = st.oomKilled === true
    ? `workload was killed by the OOM killer (signal ${st.signal ?? 9})`
    : st.signal !== null
    ? `workload was killed (signal ${st.signal})`
    : `workload exited (code ${st.code ?? "unknown"})`
  return st.lastStderr === undefined ? `${how}${when}` : `${how}${when}: ${st.lastStderr}`
}
