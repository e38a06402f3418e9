/**
 * The one HTTP probe over a replica's Unix socket (runtime readiness, the
 * deployment health gate): a GET that answers with the status line's code,
 * or with why no status line came. A dropped connection keeps Node's socket
 * error text (`write EPIPE`, `read ECONNRESET`, `socket hang up`): the relay
 * inside a replica closes its socket when nothing listens on the service
 * port, and the deploy failure messages read that text to say so.
 */
import { Effect } from "effect"
import * as http from "node:http"

export type UnixHttpProbe =
  | { readonly answered: true; readonly status: number }
  | { readonly answered: false; readonly reason: string }

export interface UnixHttpProbeOptions {
  readonly socketPath: string
  /** Request path, e.g. `/healthz`. */
  readonly path: string
  /** Wall-clock budget for the status line; past it the answer is `no answer within <ms> ms`. */
  readonly timeoutMs: number
  readonly userAgent: string
}

/** One GET; never fails. Interrupting it closes the connection. */
export const probeUnixHttp = (options: UnixHttpProbeOptions): Effect.Effect<UnixHttpProbe> =>
  Effect.async<UnixHttpProbe>((resume) => {
    let settled = false
    const finish = (result: UnixHttpProbe) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
      resume(Effect.succeed(result))
    }
    const req = http.request({
      socketPath: options.socketPath,
      path: options.path,
      method: "GET",
      agent: false,
      headers: { host: "localhost", "user-agent": options.userAgent, connection: "close" }
    })
    const timer = setTimeout(() => finish({ answered: false, reason: `no answer within ${options.timeoutMs} ms` }), options.timeoutMs)
    req.on("response", (res) => {
      res.resume()
      finish({ answered: true, status: res.statusCode ?? 0 })
    })
    req.on("error", (e) => finish({ answered: false, reason: e.message }))
    req.end()
    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
      req.destroy()
    })
  })
