/** Listener limits and error answers shared by the HTTP and HTTPS servers. */
import type * as http from "node:http"
import type * as net from "node:net"

/** More header fields than this → 431. */
export const MAX_HEADER_COUNT = 100

export interface ServerLimits {
  /** Whole header block must arrive within this time (408 otherwise). */
  readonly headersTimeoutMs: number
  /** Whole request (headers + body) must arrive within this time. */
  readonly requestTimeoutMs: number
  /** Idle keep-alive connections are closed after this time. */
  readonly keepAliveTimeoutMs: number
  /** Sockets without any traffic are closed after this time. */
  readonly idleTimeoutMs: number
  /** Header block size cap (431 past it). */
  readonly maxHeaderBytes: number
}

export const defaultLimits: ServerLimits = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 120_000,
  maxHeaderBytes: 16 * 1024
}

/** Server options shared by the HTTP and HTTPS listeners. */
export const serverOptions = (limits: ServerLimits): http.ServerOptions => ({
  maxHeaderSize: limits.maxHeaderBytes,
  requestTimeout: limits.requestTimeoutMs,
  headersTimeout: limits.headersTimeoutMs,
  keepAliveTimeout: limits.keepAliveTimeoutMs,
  connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  noDelay: true,
  // tolerate nothing the strict parser refuses
  insecureHTTPParser: false
})

/** Applies limits and error answers to a server (HTTP or HTTPS). */
export const hardenServer = (server: http.Server, limits: ServerLimits): void => {
  server.maxHeadersCount = 2 * MAX_HEADER_COUNT
  server.headersTimeout = limits.headersTimeoutMs
  server.requestTimeout = limits.requestTimeoutMs
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  server.timeout = limits.idleTimeoutMs
  server.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
    if (!socket.writable || socket.bytesWritten > 0) {
      socket.destroy()
      return
    }
    const code = err.code ?? ""
    const line = code === "HPE_HEADER_OVERFLOW"
      ? "431 Request Header Fields Too Large"
      : code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? "408 Request Timeout"
      : "400 Bad Request"
    socket.end(`HTTP/1.1 ${line}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
  })
}
