/** Readiness: an HTTP request over the replica's Unix socket that gets a
 * status line back. Any status counts; connection errors mean "not yet". */
import { Effect } from "effect"
import { probeUnixHttp } from "../platform/unixHttpProbe.js"

/** Poll until ready or the budget runs out; returns whether it became ready. */
export const waitForHttp = (socketPath: string, reqPath: string, timeoutMs: number): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    let delay = 1
    for (;;) {
      const left = deadline - Date.now()
      if (left <= 0) return false
      const probe = yield* probeUnixHttp({ socketPath, path: reqPath, timeoutMs: Math.min(left, 1000), userAgent: "denia-readiness" })
      if (probe.answered) return true
      yield* Effect.sleep(Math.min(delay, Math.max(0, deadline - Date.now())))
      delay = Math.min(delay * 1.5, 25)
    }
  })
