/**
 * Ingress request-target rules (RFC 9112 §3.2): one authority per request.
 * Real sockets: the proxy on a loopback port, replicas on Unix sockets, raw
 * request bytes so duplicate headers and absolute-form targets reach it as sent.
 */
import type * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AccessLogs } from "../../../src/ingress/accessLog.js"
import { defaultLimits } from "../../../src/ingress/limits.js"
import { closeServer, listenHttp } from "../../../src/ingress/listen.js"
import { createProxy, type Proxy } from "../../../src/ingress/proxy.js"
import { ReplicaTable } from "../../../src/ingress/ReplicaRegistry.js"
import { buildSnapshot, RouteTable } from "../../../src/ingress/routes.js"
import { rawExchange, type Replica, startReplica, tempDir } from "../ingress/helpers.js"

interface Echo {
  readonly replica: string
  readonly url: string
  readonly headers: Record<string, string>
}

const statusOf = (out: string): number => Number(/^HTTP\/1\.[01] (\d{3})/.exec(out)?.[1] ?? "0")
/** The replica's JSON answer from a raw response (plain or chunked body). */
const echoOf = (out: string): Echo => {
  const split = out.indexOf("\r\n\r\n")
  let body = out.slice(split + 4)
  if (/\r\ntransfer-encoding: chunked\r\n/i.test(out.slice(0, split + 2))) {
    let plain = ""
    for (let at = 0;;) {
      const eol = body.indexOf("\r\n", at)
      const size = parseInt(body.slice(at, eol), 16)
      if (!(size > 0)) break
      plain += body.slice(eol + 2, eol + 2 + size)
      at = eol + 2 + size + 2
    }
    body = plain
  }
  return JSON.parse(body) as Echo
}

const suite = (upstream: "agent" | "undici") =>
  describe(`request target and Host (${upstream} upstream)`, () => {
    const temp = tempDir()
    const routes = new RouteTable()
    const replicas = new ReplicaTable()
    let proxy: Proxy
    let server: http.Server
    let port = 0
    const started: Array<Replica> = []

    beforeAll(async () => {
      routes.set(
        buildSnapshot({
          baseDomain: "localhost",
          controlDomain: "",
          controlTls: false,
          services: [
            { id: "s-web", name: "web", projectName: "default", tlsEnabled: false },
            { id: "s-api", name: "api", projectName: "default", tlsEnabled: false }
          ],
          domains: []
        })
      )
      for (
        const [service, id] of [
          ["s-web", "web-1"],
          ["s-api", "api-1"]
        ] as const
      ) {
        const r = await startReplica(temp.dir, id)
        started.push(r)
        replicas.publish(service, [{ id: r.id, socketPath: r.socketPath }])
      }
      proxy = createProxy({
        routes,
        replicas,
        logs: new AccessLogs(100),
        acmeChallenges: new Map(),
        hasCertificate: () => false,
        control: undefined,
        httpsPort: 443,
        viaToken: "denia-test",
        upstreamTimeoutMs: 30_000,
        upstream
      })
      server = await listenHttp(proxy, { ...defaultLimits, headersTimeoutMs: 2_000 }, "127.0.0.1", 0)
      const a = server.address()
      port = typeof a === "object" && a !== null ? a.port : 0
    })

    afterAll(async () => {
      await closeServer(server)
      proxy.close()
      replicas.closeAll()
      for (const r of started) await r.close()
      temp.cleanup()
    })

    const served = () => started.reduce((n, r) => n + r.served(), 0)
    // the socket stays open until the proxy closes it (every request here is HTTP/1.0, `Connection: close` or refused)
    const send = (head: string) => rawExchange(port, `${head}\r\n\r\n`, { keepOpen: true })

    it("two Host headers → 400, never forwarded (same or different values)", async () => {
      const before = served()
      for (const second of ["api.default.localhost", "web.default.localhost"]) {
        const out = await send(`GET / HTTP/1.1\r\nHost: web.default.localhost\r\nHost: ${second}\r\nConnection: close`)
        expect(statusOf(out)).toBe(400)
      }
      expect(served()).toBe(before)
    })

    it("an absolute-form target whose authority differs from Host → 400", async () => {
      const before = served()
      for (
        const head of [
          "GET http://api.default.localhost/x HTTP/1.1\r\nHost: web.default.localhost",
          "GET http://web.default.localhost:8080/x HTTP/1.1\r\nHost: web.default.localhost",
          "GET https://web.default.localhost/x HTTP/1.1\r\nHost: web.default.localhost:80"
        ]
      ) {
        expect(statusOf(await send(`${head}\r\nConnection: close`))).toBe(400)
      }
      expect(served()).toBe(before)
    })

    it("an absolute-form target routes by its authority; the replica gets origin-form and that authority as Host", async () => {
      const out = await send("GET http://api.default.localhost/x/y?z=1 HTTP/1.0")
      expect(statusOf(out)).toBe(200)
      const echo = echoOf(out)
      expect(echo.replica).toBe("api-1")
      expect(echo.url).toBe("/x/y?z=1")
      expect(echo.headers["host"]).toBe("api.default.localhost")
      expect(echo.headers["x-forwarded-host"]).toBe("api.default.localhost")

      const same = await send("GET http://WEB.default.localhost?q HTTP/1.1\r\nHost: web.default.localhost:80\r\nConnection: close")
      expect(statusOf(same)).toBe(200)
      expect(echoOf(same)).toMatchObject({ replica: "web-1", url: "/?q" })
      expect(echoOf(same).headers["host"]).toBe("WEB.default.localhost")
    })

    it("absolute-form with another scheme or with userinfo → 400", async () => {
      for (const target of ["ftp://web.default.localhost/", "http://user@web.default.localhost/", "http:///x"]) {
        const out = await send(`GET ${target} HTTP/1.1\r\nHost: web.default.localhost\r\nConnection: close`)
        expect(statusOf(out), target).toBe(400)
      }
    })

    it("a Host with invalid characters or a bad port → 400", async () => {
      const before = served()
      for (
        const host of [
          "web.default.localhost:abc",
          "web.default.localhost:99999",
          "web.default.localhost/evil",
          "web.default.localhost,api.default.localhost",
          "user@web.default.localhost",
          "web..default.localhost",
          "web default.localhost",
          "[::1"
        ]
      ) {
        const out = await send(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close`)
        expect(statusOf(out), host).toBe(400)
      }
      expect(served()).toBe(before)
    })

    it("an empty or missing Host on HTTP/1.1 → 400; HTTP/1.0 without Host is simply unrouted", async () => {
      expect(statusOf(await send("GET / HTTP/1.1\r\nHost: \r\nConnection: close"))).toBe(400)
      expect(statusOf(await send("GET / HTTP/1.1\r\nConnection: close"))).toBe(400)
      expect(statusOf(await send("GET / HTTP/1.0"))).toBe(404)
    })

    it("upgrades follow the same rules", async () => {
      const upgrade =
        "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
      expect(statusOf(await send(`GET /ws HTTP/1.1\r\nHost: web.default.localhost\r\nHost: api.default.localhost\r\n${upgrade}`))).toBe(400)
      expect(statusOf(await send(`GET /ws HTTP/1.1\r\n${upgrade}`))).toBe(400)
      expect(statusOf(await send(`GET http://api.default.localhost/ws HTTP/1.1\r\nHost: web.default.localhost\r\n${upgrade}`))).toBe(400)
    })

    it("ordinary origin-form requests still route by Host", async () => {
      const out = await send("GET /ok HTTP/1.1\r\nHost: web.default.localhost.\r\nConnection: close")
      expect(statusOf(out)).toBe(200)
      expect(echoOf(out)).toMatchObject({ replica: "web-1", url: "/ok" })
    })
  })

suite("agent")
suite("undici")
