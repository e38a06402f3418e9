/** Readiness: an HTTP request over the replica's Unix socket that gets a
 * status line back. Any status counts; connection errors mean "not yet". */
import * as http from "node:http"
import { Effect } from "effect"

/** One attempt; resolves true when a status line arrived within attemptMs. */
export const probeOnce = (socketPath: string, reqPath: string, attemptMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    let done = false
    const finish = (ok: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      req.destroy()
      resolve(ok)
    }
    const req = http.request({
      socketPath,
      path: reqPath,
      method: "GET",
      headers: { host: "localhost", "user-agent": "denia-readiness", connection: "close" },
      agent: false
    })
    const timer = setTimeout(() => finish(false), attemptMs)
    req.on("response", (res) => {
      res.resume()
      finish(true)
    })
    req.on("error", () => finish(false))
    req.end()
  })

/** Poll until ready or the budget runs out; returns whether it became ready. */
export const waitForHttp = (socketPath: string, reqPath: string, timeoutMs: number): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    let delay = 1
    for (;;) {
      const left = deadline - Date.now()
      if (left <= 0) return false
      const ok = yield* Effect.promise(() => probeOnce(socketPath, reqPath, Math.min(left, 1000)))
      if (ok) return true
      yield* Effect.sleep(Math.min(delay, Math.max(0, deadline - Date.now())))
      delay = Math.min(delay * 1.5, 25)
    }
  })
