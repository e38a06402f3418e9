/** Raw HTTP helpers for the security suites: exact headers, bodies and client-side deadlines. */
import * as http from "node:http"
import * as net from "node:net"

export interface RawResponse {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

export interface RawRequest {
  readonly port: number
  readonly method: string
  readonly path: string
  readonly headers?: Record<string, string>
  /** Written as is; no Content-Length is added unless given in `headers` (or computed when `contentLength` is true). */
  readonly body?: string | Buffer
  readonly contentLength?: boolean
  /** The request fails (rejects) when no complete answer arrived within this time. */
  readonly timeoutMs: number
}

/** One request on its own connection; rejects on a client-side timeout (the failure condition for "hangs"). */
export const rawRequest = (r: RawRequest): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...r.headers }
    if (r.body !== undefined && r.contentLength !== false && !Object.keys(headers).some((h) => h.toLowerCase() === "content-length")) {
      headers["content-length"] = String(Buffer.byteLength(r.body))
    }
    const req = http.request({ host: "127.0.0.1", port: r.port, method: r.method, path: r.path, headers, agent: false })
    const timer = setTimeout(() => {
      req.destroy()
      reject(new Error(`${r.method} ${r.path}: no answer within ${r.timeoutMs} ms`))
    }, r.timeoutMs)
    req.on("response", (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") })
      })
      res.on("error", (e) => {
        clearTimeout(timer)
        reject(e)
      })
    })
    req.on("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    if (r.body !== undefined) req.write(r.body)
    req.end()
  })

export const errorOf = (r: RawResponse): { code: string; message: string } => {
  const parsed = JSON.parse(r.body) as { error?: { code?: unknown; message?: unknown } }
  if (typeof parsed.error?.code !== "string" || typeof parsed.error.message !== "string") {
    throw new Error(`not an error envelope: ${r.body}`)
  }
  return { code: parsed.error.code, message: parsed.error.message }
}

export const portOf = (bindAddr: string): number => Number(bindAddr.slice(bindAddr.lastIndexOf(":") + 1))

/** A TCP connection to the port, resolved once connected. */
export const connect = (port: number): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s))
    s.on("error", reject)
  })

/** Resolves true when the server closes the socket within `withinMs`, false otherwise (the socket is then destroyed). */
export const closedWithin = (s: net.Socket, withinMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve(true)
    const timer = setTimeout(() => {
      s.destroy()
      resolve(false)
    }, withinMs)
    const done = () => {
      clearTimeout(timer)
      resolve(true)
    }
    s.once("close", done)
    s.once("end", done)
    s.on("error", () => {})
    s.resume()
  })
