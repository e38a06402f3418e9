/**
 * The ingress side of an HTTP upgrade (WebSocket): the request goes to the replica's socket (or the
 * control domain's loopback API) with the forwarding headers; a 101 joins the two sockets both ways, any
 * other answer is relayed and the connection closed. The replica's in-flight count covers the tunnel's
 * whole life.
 */
import * as http from "node:http"
import type * as net from "node:net"
import { withControlHop } from "./controlHop.js"
import { clientIp, responseHeaders, upstreamHeaders } from "./headers.js"
import type { ReplicaConn } from "./ReplicaRegistry.js"

/** Where the control domain's requests go. */
export interface ProxyControl {
  readonly host: string
  readonly port: number
}

/** Answers an upgrade request with a bare status and closes. */
export const rejectUpgrade = (socket: net.Socket, status: number, text: string): void => {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
  else socket.destroy()
}

/**
 * The tunnel of one upgrade request: to `replica`, or to the control domain when it is undefined
 * (`viaValue` is this daemon's `Via` header value).
 */
export const makeTunnel = (control: ProxyControl | undefined, viaValue: string) =>
(
  req: http.IncomingMessage,
  socket: net.Socket,
  head: Buffer,
  authority: string,
  secure: boolean,
  replica: ReplicaConn | undefined
): void => {
  const forwarded = upstreamHeaders(req, clientIp(req.socket), authority, secure ? "https" : "http", viaValue, true)
  const headers = replica === undefined ? withControlHop(forwarded) : forwarded
  const options: http.RequestOptions = replica !== undefined
    ? { socketPath: replica.socketPath, method: req.method ?? "GET", path: req.url ?? "/", headers, agent: false }
    : {
      host: control?.host ?? "127.0.0.1",
      port: control?.port ?? 0,
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers,
      agent: false
    }
  if (replica !== undefined) replica.acquire()
  let released = false
  const release = () => {
    if (released) return
    released = true
    if (replica !== undefined) replica.release()
  }
  let upstream: http.ClientRequest
  try {
    upstream = http.request(options)
  } catch {
    release()
    rejectUpgrade(socket, 400, "Bad Request")
    return
  }
  socket.on("error", () => upstream.destroy())
  socket.on("close", () => {
    upstream.destroy()
    release()
  })
  upstream.on("upgrade", (up, upSocket, upHead) => {
    let lines = `HTTP/1.1 ${up.statusCode ?? 101} ${up.statusMessage ?? "Switching Protocols"}\r\n`
    for (let i = 0; i < up.rawHeaders.length; i += 2) lines += `${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}\r\n`
    socket.write(`${lines}\r\n`)
    if (upHead.length > 0) socket.write(upHead)
    if (head.length > 0) upSocket.write(head)
    upSocket.on("error", () => socket.destroy())
    upSocket.on("close", () => {
      socket.destroy()
      release()
    })
    socket.setTimeout(0)
    upSocket.pipe(socket)
    socket.pipe(upSocket)
  })
  upstream.on("response", (up) => {
    // the replica refused the upgrade: relay its answer and close
    let lines = `HTTP/1.1 ${up.statusCode ?? 502} ${up.statusMessage ?? ""}\r\n`
    for (const [i, v] of responseHeaders(up.rawHeaders).entries()) lines += i % 2 === 0 ? `${v}: ` : `${v}\r\n`
    socket.write(`${lines}connection: close\r\n\r\n`)
    up.pipe(socket)
    up.on("end", release)
  })
  upstream.on("error", () => {
    release()
    rejectUpgrade(socket, 502, "Bad Gateway")
  })
  upstream.end()
}
