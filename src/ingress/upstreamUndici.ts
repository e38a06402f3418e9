/**
 * Upstream through an undici `Pool` per replica (the default; `upstream:
 * "agent"` selects node:http agents instead). Both paths are kept and tested
 * so the benchmark can compare them on the same build (ADR 0501).
 */
import type * as http from "node:http"
import { type Dispatcher, Pool } from "undici"
import { connectReplica } from "./upstreamSocket.js"

const DROP_RESPONSE = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "trailer", "upgrade"])

export const makePool = (socketPath: string): Pool =>
  new Pool("http://replica", {
    // our own connections: bare-LF response heads are checked and normalized before llhttp (ADR 0502)
    connect: (_options, callback) => connectReplica(socketPath, (socket) => callback(null, socket), (err) => callback(err, null)),
    connections: 256,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    headersTimeout: UPSTREAM_TIMEOUT_MS,
    bodyTimeout: UPSTREAM_TIMEOUT_MS
  })

/** How long a replica may take to start answering, and between body chunks. */
export const UPSTREAM_TIMEOUT_MS = 300_000

export interface UndiciOutcome {
  /** Register to abort the upstream exchange when the client goes away. */
  readonly setAbort: (abort: () => void) => void
  readonly onBytes: (n: number) => void
  readonly onDone: () => void
  readonly onFailure: (err: Error) => void
}

export const forwardUndici = (
  pool: Pool,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  headers: Array<string>,
  outcome: UndiciOutcome
): void => {
  const method = req.method ?? "GET"
  const hasBody = req.headers["content-length"] !== undefined
    ? req.headers["content-length"] !== "0"
    : req.headers["transfer-encoding"] !== undefined
  let controller: Dispatcher.DispatchController | undefined
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    outcome.onDone()
  }
  res.on("drain", () => controller?.resume())
  pool.dispatch(
    { path: req.url ?? "/", method, headers, body: hasBody ? req : null },
    {
      onRequestStart(c) {
        controller = c
        outcome.setAbort(() => c.abort(new Error("client went away")))
      },
      onResponseStart(_c, statusCode, h, statusMessage) {
        // undici reports informational heads (103 Early Hints) here too; only the final head is relayed
        if (statusCode < 200) return
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
