/**
 * Bare-LF upstream responses and the 502/504 accounting (ADR 0502), on real
 * sockets: a raw Unix-socket "replica" answers canned bytes per request path,
 * through both upstream clients.
 */
import type * as http from "node:http"
import { request as httpRequest } from "node:http"
import * as net from "node:net"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AccessLogs } from "../../../src/ingress/accessLog.js"
import { defaultLimits } from "../../../src/ingress/limits.js"
import { closeServer, listenHttp } from "../../../src/ingress/listen.js"
import { createProxy, type Proxy, type UpstreamFailureEvent } from "../../../src/ingress/proxy.js"
import { ReplicaTable } from "../../../src/ingress/ReplicaRegistry.js"
import { buildSnapshot, RouteTable } from "../../../src/ingress/routes.js"
import { request, tempDir } from "./helpers.js"

/** Canned answers by request path; `hang` never answers, `close` closes without a byte. */
const ANSWERS: Record<string, string | "hang" | "close"> = {
  "/busybox-cgi": "HTTP/1.0 200 OK\nContent-type: text/plain\n\nhello from cgi\n",
  "/lf-length": "HTTP/1.1 201 Created\nContent-Type: text/plain\nContent-Length: 5\nX-Custom: yes\n\nfive!",
  "/mixed": "HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\nok",
  // (undici refuses an unsolicited 100 Continue whatever its line endings; 103 is the informational head it takes)
  "/early-hints": "HTTP/1.1 103 Early Hints\nLink: </style.css>; rel=preload\n\nHTTP/1.1 200 OK\nContent-Length: 4\n\ndone",
  "/crlf-early-hints": "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone",
  "/chunked": "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\r\nabc\r\n0\r\n\r\n",
  "/crlf": "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ncrlf",
  "/bare-cr": "HTTP/1.1 200 OK\rSet-Cookie: evil=1\r\nContent-Length: 2\r\n\r\nno",
  "/bare-cr-value": "HTTP/1.1 200 OK\nX-A: a\rSet-Cookie: evil=1\nContent-Length: 2\n\nno",
  "/obs-fold": "HTTP/1.1 200 OK\nX-A: a\n Set-Cookie: evil=1\nContent-Length: 2\n\nno",
  "/nul": "HTTP/1.1 200 OK\nX-A: a\u0000b\nContent-Length: 2\n\nno",
  "/bad-name": "HTTP/1.1 200 OK\nX A: 1\nContent-Length: 2\n\nno",
  "/two-lengths": "HTTP/1.1 200 OK\nContent-Length: 2\nContent-Length: 40\n\nno",
  "/te-and-cl": "HTTP/1.1 200 OK\nContent-Length: 2\nTransfer-Encoding: chunked\n\n0\r\n\r\n",
  "/crlf-two-lengths": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\nno",
  "/close": "close",
  "/hang": "hang",
  "/client-leaves": "hang"
}

/** The request path of the first request line in `data` (the raw replica only needs that). */
const pathOf = (data: string): string => /^[A-Z]+ (\S+) HTTP/.exec(data)?.[1] ?? "/"

/** Request paths the raw replica has received so far. */
const received = new Set<string>()

const startRawReplica = async (socketPath: string): Promise<net.Server> => {
  const server = net.createServer((socket) => {
    socket.on("error", () => socket.destroy())
    let seen = ""
    socket.on("data", (d: Buffer) => {
      seen += d.toString("latin1")
      if (!seen.includes("\r\n\r\n")) return
      received.add(pathOf(seen))
      const answer = ANSWERS[pathOf(seen)] ?? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
      seen = ""
      if (answer === "hang") return
      if (answer === "close") socket.destroy()
      else socket.end(Buffer.from(answer, "latin1"))
    })
  })
  await new Promise<void>((resolve) => server.listen(socketPath, resolve))
  return server
}

for (const upstream of ["undici", "agent"] as const) {
  describe(`upstream leniency and failure accounting (${upstream})`, () => {
    const temp = tempDir()
    const routes = new RouteTable()
    const replicas = new ReplicaTable()
    const logs = new AccessLogs(100)
    const events: Array<UpstreamFailureEvent> = []
    let proxy: Proxy
    let server: http.Server
    let raw: net.Server
    let port = 0
    const host = "raw.default.localhost"

    beforeAll(async () => {
      const socketPath = path.join(temp.dir, "raw.sock")
      raw = await startRawReplica(socketPath)
      routes.set(
        buildSnapshot({
          baseDomain: "localhost",
          controlDomain: "",
          controlTls: false,
          services: [
            { id: "s-raw", name: "raw", projectName: "default", tlsEnabled: false },
            { id: "s-none", name: "none", projectName: "default", tlsEnabled: false }
          ],
          domains: []
        })
      )
      replicas.publish("s-raw", [{ id: "raw-1", socketPath }])
      proxy = createProxy({
        routes,
        replicas,
        logs,
        acmeChallenges: new Map(),
        hasCertificate: () => false,
        control: undefined,
        httpsPort: 443,
        viaToken: "denia-test",
        // the agent client honours this; undici's pools have their own fixed timeout (not exercised here)
        upstreamTimeoutMs: 1_000,
        upstream,
        onUpstreamFailure: (e) => events.push(e)
      })
      server = await listenHttp(proxy, defaultLimits, "127.0.0.1", 0)
      const a = server.address()
      port = typeof a === "object" && a !== null ? a.port : 0
    })

    afterAll(async () => {
      await closeServer(server)
      proxy.close()
      replicas.closeAll()
      await new Promise<void>((resolve) => raw.close(() => resolve()))
      temp.cleanup()
    })

    const lastEntry = (p: string) => logs.recent("s-raw", 100).find((e) => e.path === p)

    it("accepts a busybox-CGI style HTTP/1.0 head with bare LF, body until close", async () => {
      const r = await request(port, host, "/busybox-cgi")
      expect(r.status).toBe(200)
      expect(r.headers["content-type"]).toBe("text/plain")
      expect(r.body).toBe("hello from cgi\n")
      expect(lastEntry("/busybox-cgi")).toMatchObject({ status: 200, error: null })
    })

    it("accepts bare-LF and mixed heads with Content-Length, a bare-LF 103 Early Hints, and chunked bodies", async () => {
      const a = await request(port, host, "/lf-length")
      expect([a.status, a.body, a.headers["x-custom"]]).toEqual([201, "five!", "yes"])
      const b = await request(port, host, "/mixed")
      expect([b.status, b.body, b.headers["x-a"]]).toEqual([200, "ok", "1"])
      const c = await request(port, host, "/early-hints")
      expect([c.status, c.body]).toEqual([200, "done"])
      const d = await request(port, host, "/chunked")
      expect([d.status, d.body]).toEqual([200, "abc"])
    })

    it("serves many bare-LF responses in a row (each on its own upstream connection)", async () => {
      const replies = await Promise.all(Array.from({ length: 20 }, () => request(port, host, "/lf-length")))
      expect(replies.every((r) => r.status === 201 && r.body === "five!")).toBe(true)
    })

    it.each([
      ["/bare-cr", "upstream parse error"],
      ["/bare-cr-value", "upstream parse error: bare CR in the response head"],
      ["/obs-fold", "upstream parse error: obs-fold"],
      ["/nul", "upstream parse error: NUL in the response head"],
      ["/bad-name", "upstream parse error: invalid header name \"X A\""],
      ["/two-lengths", "upstream parse error: conflicting Content-Length values"],
      ["/te-and-cl", "upstream parse error: both Transfer-Encoding and Content-Length"],
      // CRLF: the strict parser's own checks (node's llhttp refuses the repeat; undici finds the body length wrong)
      ["/crlf-two-lengths", upstream === "agent" ? "upstream parse error" : "upstream reset: Response body length"]
    ])("refuses %s with 502 and records the reason", async (p, reason) => {
      const kind = reason.startsWith("upstream reset") ? "reset" : "parseError"
      const before = logs.failureCounts("s-raw")[kind]
      const r = await request(port, host, p)
      expect(r.status).toBe(502)
      expect(r.body).toBe("bad gateway\n")
      expect(r.headers["set-cookie"]).toBeUndefined()
      expect(lastEntry(p)?.error).toMatch(new RegExp(`^${reason.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`))
      expect(logs.failureCounts("s-raw")[kind]).toBe(before + 1)
      expect(events.some((e) => e.path === p && e.serviceId === "s-raw" && e.status === 502 && e.failure.kind === kind)).toBe(true)
    })

    it("still passes strict CRLF responses through, informational heads included (only the final head is relayed)", async () => {
      const r = await request(port, host, "/crlf")
      expect([r.status, r.body]).toEqual([200, "crlf"])
      const e = await request(port, host, "/crlf-early-hints")
      expect([e.status, e.body]).toEqual([200, "done"])
    })

    it("answers a replica that closes without a byte with 502 upstream reset", async () => {
      const before = logs.failureCounts("s-raw").reset
      const r = await request(port, host, "/close")
      expect(r.status).toBe(502)
      expect(lastEntry("/close")?.error).toMatch(/^upstream reset: /)
      expect(logs.failureCounts("s-raw").reset).toBe(before + 1)
    })

    it("answers a replica whose socket is gone with 502 upstream connect failed", async () => {
      const gone = path.join(temp.dir, "gone.sock")
      replicas.publish("s-none", [{ id: "gone-1", socketPath: gone }])
      try {
        const r = await request(port, "none.default.localhost", "/x")
        expect(r.status).toBe(502)
        const [e] = logs.recent("s-none", 1)
        expect(e?.error).toBe("upstream connect failed: ENOENT")
        expect(logs.failureCounts("s-none").connectFailed).toBe(1)
      } finally {
        replicas.publish("s-none", [])
        await replicas.drain("s-none", ["gone-1"])
      }
    })

    it("answers 503 without a healthy replica and counts it", async () => {
      const before = logs.failureCounts("s-none").noHealthyReplica
      const r = await request(port, "none.default.localhost", "/nobody")
      expect(r.status).toBe(503)
      expect(logs.recent("s-none", 1)[0]).toMatchObject({ path: "/nobody", status: 503, error: "no healthy replica" })
      expect(logs.failureCounts("s-none").noHealthyReplica).toBe(before + 1)
    })

    it("a client that goes away mid-exchange is not counted as an upstream failure", async () => {
      received.delete("/client-leaves")
      const before = logs.failureCounts("s-raw")
      await new Promise<void>((resolve) => {
        const req = httpRequest({ host: "127.0.0.1", port, path: "/client-leaves", headers: { host }, agent: false })
        req.on("error", () => resolve())
        req.on("close", () => resolve())
        // the replica never answers; leave once it has the request
        const wait = setInterval(() => {
          if (received.has("/client-leaves")) {
            clearInterval(wait)
            req.destroy()
          }
        }, 20)
        req.end()
      })
      for (let i = 0; i < 100 && lastEntry("/client-leaves") === undefined; i++) await new Promise((r) => setTimeout(r, 20))
      expect(lastEntry("/client-leaves")).toMatchObject({ error: null })
      expect(logs.failureCounts("s-raw")).toEqual(before)
    })

    if (upstream === "agent") {
      it("answers a replica that never answers with 504 upstream timeout", async () => {
        const r = await request(port, host, "/hang")
        expect(r.status).toBe(504)
        expect(lastEntry("/hang")?.error).toBe("upstream timeout: no answer within 1 s")
        expect(logs.failureCounts("s-raw").timeout).toBe(1)
      })
    }
  })
}
