/**
 * Upstream through node:http (`upstream: "agent"`, and the control domain's
 * loopback API). Replica connections come from `replicaSocket`, so bare-LF
 * heads are handled as on the undici path (ADR 0502).
 */
import * as http from "node:http"
import type * as net from "node:net"
import { responseHeaders } from "./headers.js"
import { replicaSocket } from "./upstreamSocket.js"

/** Keep-alive agent for one replica; its connections are LenientHeadSockets. */
export class ReplicaAgent extends http.Agent {
  constructor(private readonly socketPath: string) {
    super({ keepAlive: true, maxSockets: 512, maxFreeSockets: 256, timeout: 60_000, scheduling: "lifo" })
  }
  override createConnection(): net.Socket {
    return replicaSocket(this.socketPath)
  }
}

export interface AgentOutcome {
  readonly onBytes: (n: number) => void
  readonly onDone: () => void
  /** `retry` is set when the request may go once more on a fresh connection (reused socket, no body, first attempt). */
  readonly onFailure: (err: Error, retry: boolean) => void
}

export const forwardAgent = (
  options: http.RequestOptions,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  timeoutMs: number,
  attempt: number,
  outcome: AgentOutcome
): void => {
  let upstream: http.ClientRequest
  try {
    upstream = http.request(options)
  } catch (e) {
    // the client refused the request outright (bytes it will not send): rethrown to the proxy's 400
    outcome.onDone()
    throw e
  }
  upstream.setTimeout(timeoutMs, () => upstream.destroy(new Error("upstream timeout")))
  upstream.on("response", (up) => {
    res.writeHead(up.statusCode ?? 502, up.statusMessage, responseHeaders(up.rawHeaders))
    up.on("data", (chunk: Buffer) => outcome.onBytes(chunk.length))
    up.on("end", outcome.onDone)
    up.on("error", (err) => {
      outcome.onDone()
      if (!clientGone) outcome.onFailure(err, false)
    })
    up.pipe(res)
  })
  let clientGone = false
  upstream.on("error", (err: NodeJS.ErrnoException) => {
    const wasReused = upstream.reusedSocket
    outcome.onDone()
    // the client went away and we tore the exchange down: not the replica's failure
    if (clientGone) return
    const bodyless = req.headers["content-length"] === undefined || req.headers["content-length"] === "0"
    const retry = !res.headersSent && wasReused && bodyless && req.headers["transfer-encoding"] === undefined && attempt === 0 &&
      !req.destroyed
    outcome.onFailure(err, retry)
  })
  res.on("close", () => {
    if (!res.writableFinished) {
      clientGone = true
      upstream.destroy()
    }
    outcome.onDone()
  })
  if (attempt === 0) req.pipe(upstream)
  else upstream.end()
}
