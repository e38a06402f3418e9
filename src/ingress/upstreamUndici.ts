/**
 * Alternative upstream: an undici `Pool` per replica (selected with
 * `upstream: "undici"`), kept side by side with the node:http agent path so
 * the benchmark can compare both on the same build.
 */
import type * as http from "node:http"
import { Pool, type Dispatcher } from "undici"

const DROP_RESPONSE = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "trailer", "upgrade"])

export const makePool = (socketPath: string): Pool =>
  new Pool("http://replica", { socketPath, connections: 256, pipelining: 1, keepAliveTimeout: 4_000 })

export interface UndiciOutcome {
  readonly onBytes: (n: number) => void
  readonly onDone: () => void
  readonly onFailure: (err: Error) => void
}

export const forwardUndici = (pool: Pool, req: http.IncomingMessage, res: http.ServerResponse, headers: Array<string>, outcome: UndiciOutcome): void => {
  const method = req.method ?? "GET"
  const hasBody = req.headers["content-length"] !== undefined ? req.headers["content-length"] !== "0" : req.headers["transfer-encoding"] !== undefined
  let controller: Dispatcher.DispatchController | undefined
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    outcome.onDone()
  }
  res.on("drain", () => controller?.resume())
  res.on("close", () => {
    if (!res.writableFinished) controller?.abort(new Error("client went away"))
  })
  pool.dispatch(
    { path: req.url ?? "/", method: method as Dispatcher.HttpMethod, headers, body: hasBody ? req : null },
    {
      onRequestStart(c) {
        controller = c
      },
      onResponseStart(_c, statusCode, h, statusMessage) {
        const out: Record<string, string | Array<string>> = {}
        for (const k in h) {
          const v = h[k]
          if (v !== undefined && !DROP_RESPONSE.has(k)) out[k] = v
        }
        res.writeHead(statusCode, statusMessage ?? "", out)
      },
      onResponseData(c, chunk) {
        outcome.onBytes(chunk.length)
        if (!res.write(chunk)) c.pause()
      },
      onResponseEnd() {
        res.end()
        finish()
      },
      onResponseError(_c, err) {
        finish()
        outcome.onFailure(err)
      }
    }
  )
}
