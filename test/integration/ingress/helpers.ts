/** Real-socket helpers for ingress tests: Unix-socket replicas and a small HTTP client. */
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { WebSocketServer } from "ws"

export interface Replica {
  readonly id: string
  readonly socketPath: string
  readonly close: () => Promise<void>
  readonly served: () => number
}

export const tempDir = (): { dir: string; cleanup: () => void } => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-ingress-"))
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/**
 * A replica: answers JSON `{replica, method, url, headers, bodyBytes}` for
 * every request, echoes WebSocket messages on any upgrade.
 */
export const startReplica = async (dir: string, id: string): Promise<Replica> => {
  const socketPath = path.join(dir, `${id}.sock`)
  let served = 0
  const server = http.createServer((req, res) => {
    let bodyBytes = 0
    req.on("data", (c: Buffer) => (bodyBytes += c.length))
    req.on("end", () => {
      served++
      const body = JSON.stringify({ replica: id, method: req.method, url: req.url, headers: req.headers, bodyBytes })
      res.writeHead(200, { "content-type": "application/json", "x-replica": id })
      res.end(body)
    })
  })
  const wss = new WebSocketServer({ server })
  wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(isBinary ? data : `${id}:${data.toString()}`)))
  await new Promise<void>((resolve) => server.listen(socketPath, resolve))
  return {
    id,
    socketPath,
    served: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        wss.close()
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

export interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

export const request = (
  port: number,
  host: string,
  p = "/",
  init: { method?: string; headers?: Record<string, string>; body?: Buffer | string; agent?: http.Agent } = {}
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: p, method: init.method ?? "GET", headers: { host, ...init.headers }, agent: init.agent ?? false },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    req.end(init.body)
  })

/** Sends raw bytes and collects everything the server answers until it closes (or `untilHead`). */
export const rawExchange = (port: number, payload: string, opts: { keepOpen?: boolean } = {}): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    let out = ""
    socket.on("data", (d: Buffer) => {
      out += d.toString("latin1")
    })
    socket.on("error", (e) => (out === "" ? reject(e) : resolve(out)))
    socket.on("close", () => resolve(out))
    socket.write(payload, "latin1")
    if (opts.keepOpen !== true) socket.end()
  })
