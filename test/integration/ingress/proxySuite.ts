/**
 * The HTTP data path on real sockets, for one upstream client: routing,
 * round-robin, 404/503, activation, WebSocket passthrough, forwarded headers,
 * request hygiene, replica swaps under load.
 */
import type * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { AccessLogs } from "../../../src/ingress/accessLog.js"
import { defaultLimits } from "../../../src/ingress/limits.js"
import { closeServer, listenHttp } from "../../../src/ingress/listen.js"
import { createProxy, type Proxy } from "../../../src/ingress/proxy.js"
import { ReplicaTable } from "../../../src/ingress/ReplicaRegistry.js"
import { buildSnapshot, RouteTable } from "../../../src/ingress/routes.js"
import { rawExchange, type Replica, request, startReplica, tempDir } from "./helpers.js"

export const proxySuite = (upstream: "agent" | "undici"): void => {
  const temp = tempDir()
  const routes = new RouteTable()
  const replicas = new ReplicaTable()
  const logs = new AccessLogs(100)
  let proxy: Proxy
  let server: http.Server
  let port = 0
  const started: Array<Replica> = []

  const replica = async (id: string) => {
    const r = await startReplica(temp.dir, id)
    started.push(r)
    return r
  }

  beforeAll(async () => {
    routes.set(
      buildSnapshot({
        baseDomain: "localhost",
        controlDomain: "",
        controlTls: false,
        services: [
          { id: "s-web", name: "web", projectName: "default", tlsEnabled: false },
          { id: "s-api", name: "api", projectName: "default", tlsEnabled: false },
          { id: "s-rr", name: "rr", projectName: "shop", tlsEnabled: false },
          { id: "s-down", name: "down", projectName: "default", tlsEnabled: false },
          { id: "s-swap", name: "swap", projectName: "default", tlsEnabled: false }
        ],
        domains: [{ id: "d1", serviceId: "s-api", hostname: "api.example.test", status: "verified", token: "t1", proof: "p1" }]
      })
    )
    replicas.publish("s-web", [await replica("web-1")].map((r) => ({ id: r.id, socketPath: r.socketPath })))
    replicas.publish("s-api", [await replica("api-1")].map((r) => ({ id: r.id, socketPath: r.socketPath })))
    replicas.publish("s-rr", [await replica("rr-a"), await replica("rr-b")].map((r) => ({ id: r.id, socketPath: r.socketPath })))
    proxy = createProxy({
      routes,
      replicas,
      logs,
      acmeChallenges: new Map(),
      hasCertificate: () => false,
      control: undefined,
      httpsPort: 443,
      viaToken: "denia-test",
      upstreamTimeoutMs: 30_000,
      upstream
    })
    server = await listenHttp(proxy, { ...defaultLimits, headersTimeoutMs: 1_000 }, "127.0.0.1", 0)
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

  const replicaOf = (body: string): string => (JSON.parse(body) as { replica: string }).replica

  describe("routing", () => {
    it("routes by Host: default hostnames and a verified custom domain", async () => {
      expect(replicaOf((await request(port, "web.default.localhost")).body)).toBe("web-1")
      expect(replicaOf((await request(port, "WEB.default.localhost:8080")).body)).toBe("web-1")
      expect(replicaOf((await request(port, "api.default.localhost")).body)).toBe("api-1")
      expect(replicaOf((await request(port, "api.example.test")).body)).toBe("api-1")
    })

    it("round-robins across two replicas", async () => {
      const seen: Array<string> = []
      for (let i = 0; i < 6; i++) seen.push(replicaOf((await request(port, "rr.shop.localhost")).body))
      expect(new Set(seen)).toEqual(new Set(["rr-a", "rr-b"]))
      for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1])
    })

    it("unknown host → 404, no healthy replica → 503", async () => {
      expect((await request(port, "nope.default.localhost")).status).toBe(404)
      expect((await request(port, "")).status).toBe(404)
      const down = await request(port, "down.default.localhost")
      expect(down.status).toBe(503)
      expect(down.headers["retry-after"]).toBeDefined()
    })

    it("the activation hook is asked when no replica is healthy, and its replica serves the request", async () => {
      let calls = 0
      const r = await replica("down-1")
      replicas.setActivator(async (serviceId) => {
        calls++
        replicas.publish(serviceId, [{ id: r.id, socketPath: r.socketPath }])
        return true
      })
      try {
        const replies = await Promise.all([request(port, "down.default.localhost"), request(port, "down.default.localhost")])
        expect(replies.map((x) => x.status)).toEqual([200, 200])
        expect(calls).toBe(1)
      } finally {
        replicas.setActivator(undefined)
        await replicas.drain("s-down", ["down-1"])
      }
      expect((await request(port, "down.default.localhost")).status).toBe(503)
    })

    it("streams request bodies both ways", async () => {
      const body = Buffer.alloc(3 * 1024 * 1024, 7)
      const r = await request(port, "web.default.localhost", "/upload", { method: "POST", body })
      expect(JSON.parse(r.body)).toMatchObject({ method: "POST", url: "/upload", bodyBytes: body.length })
    })

    it("keeps an access log per service, newest first", async () => {
      await request(port, "api.default.localhost", "/logged?x=1")
      const [last] = logs.recent("s-api", 10)
      expect(last).toMatchObject({ method: "GET", path: "/logged?x=1", status: 200, replica: "api-1", clientIp: "127.0.0.1" })
      expect(last?.bytes).toBeGreaterThan(0)
      expect(logs.lastActivityAt("s-api")).toBeDefined()
    })
  })

  describe("forwarded headers", () => {
    it("overwrites X-Forwarded-For/-Proto/-Host and adds Via", async () => {
      const r = await request(port, "web.default.localhost", "/h", {
        headers: {
          "x-forwarded-for": "6.6.6.6",
          "x-forwarded-proto": "https",
          "x-forwarded-host": "evil.example",
          forwarded: "for=6.6.6.6",
          "x-custom": "kept"
        }
      })
      const { headers } = JSON.parse(r.body) as { headers: Record<string, string> }
      expect(headers["x-forwarded-for"]).toBe("127.0.0.1")
      expect(headers["x-forwarded-proto"]).toBe("http")
      expect(headers["x-forwarded-host"]).toBe("web.default.localhost")
      expect(headers["forwarded"]).toBeUndefined()
      expect(headers["x-custom"]).toBe("kept")
      expect(headers["via"]).toBe("1.1 denia-test")
    })

    it("drops headers the client names in Connection", async () => {
      const r = await request(port, "web.default.localhost", "/h", {
        headers: { connection: "keep-alive, X-Secret-Hop", "x-secret-hop": "1", "x-kept": "yes" }
      })
      const { headers } = JSON.parse(r.body) as { headers: Record<string, string> }
      expect(headers["x-secret-hop"]).toBeUndefined()
      expect(headers["x-kept"]).toBe("yes")
    })

    it("a request that already went through this proxy is a loop (508)", async () => {
      const r = await request(port, "web.default.localhost", "/", { headers: { via: "1.1 denia-test" } })
      expect(r.status).toBe(508)
    })
  })

  describe("hygiene", () => {
    it("Content-Length together with Transfer-Encoding → 400", async () => {
      const out = await rawExchange(
        port,
        "POST / HTTP/1.1\r\nHost: web.default.localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: web.default.localhost\r\n\r\n"
      )
      expect(out.startsWith("HTTP/1.1 400")).toBe(true)
      expect(out).not.toContain("smuggled")
    })

    it("300 headers → 431 (or 400), never forwarded", async () => {
      const headers = Array.from({ length: 300 }, (_, i) => `X-H${i}: v\r\n`).join("")
      const out = await rawExchange(port, `GET / HTTP/1.1\r\nHost: web.default.localhost\r\n${headers}\r\n`)
      expect(out).toMatch(/^HTTP\/1\.1 (431|400)/)
    })

    it("an oversized header block → 431", async () => {
      const out = await rawExchange(port, `GET / HTTP/1.1\r\nHost: web.default.localhost\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`)
      expect(out).toMatch(/^HTTP\/1\.1 431/)
    })

    it("unusual but parseable bytes never take the proxy down", async () => {
      const out = await rawExchange(
        port,
        "GET /caf\xe9?x=\xff HTTP/1.1\r\nHost: web.default.localhost\r\nX-Obs: caf\xe9\r\nConnection: close\r\n\r\n"
      )
      expect(out).toMatch(/^HTTP\/1\.1 \d{3}/)
      expect((await request(port, "web.default.localhost")).status).toBe(200)
    })

    it("slow headers time out (408 and the connection closes)", async () => {
      const out = await rawExchange(port, "GET / HTTP/1.1\r\nHost: web.default.localhost\r\nX-Slow: ", { keepOpen: true })
      expect(out).toMatch(/^HTTP\/1\.1 408/)
    })
  })

  describe("WebSocket", () => {
    it("echoes through the proxy", async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { host: "web.default.localhost" } })
      const messages: Array<string> = []
      await new Promise<void>((resolve, reject) => {
        ws.on("open", () => ws.send("hello"))
        ws.on("message", (m: Buffer) => {
          messages.push(m.toString())
          if (messages.length === 1) ws.send("again")
          else ws.close()
        })
        ws.on("close", () => resolve())
        ws.on("error", reject)
      })
      expect(messages).toEqual(["web-1:hello", "web-1:again"])
    })

    it("an upgrade for an unknown host → 404", async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { host: "nope.localhost" } })
      const status = await new Promise<number>((resolve) => {
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0))
        ws.on("error", () => resolve(-1))
      })
      expect(status).toBe(404)
    })
  })

  describe("replica swaps under load", () => {
    it("20 000 requests, zero non-2xx while the replica set is replaced and drained", async () => {
      const generations: Array<Replica> = [await replica("swap-0")]
      replicas.publish("s-swap", [{ id: "swap-0", socketPath: generations[0]?.socketPath ?? "" }])
      const { Agent } = await import("node:http")
      const agent = new Agent({ keepAlive: true, maxSockets: 50 })
      const total = 20_000
      let sent = 0
      const statuses = new Map<number, number>()
      const worker = async () => {
        while (sent < total) {
          sent++
          const r = await request(port, "swap.default.localhost", "/", { agent }).catch(() => ({ status: -1 }) as const)
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
        }
      }
      const swapper = async () => {
        for (let g = 1; g <= 5; g++) {
          await new Promise((r) => setTimeout(r, 150))
          const next = await replica(`swap-${g}`)
          const old = generations[generations.length - 1]
          generations.push(next)
          replicas.publish("s-swap", [{ id: next.id, socketPath: next.socketPath }])
          if (old !== undefined) {
            await replicas.drain("s-swap", [old.id])
            await old.close()
          }
        }
      }
      await Promise.all([...Array.from({ length: 50 }, worker), swapper()])
      agent.destroy()
      expect(Object.fromEntries(statuses)).toEqual({ 200: total })
      expect(generations.filter((g) => g.served() > 0).length).toBeGreaterThan(1)
    }, 120_000)
  })

  describe("misc", () => {
    it("non-HTTP garbage → 400", async () => {
      const out = await rawExchange(port, "HELLO\r\n\r\n")
      expect(out.startsWith("HTTP/1.1 400")).toBe(true)
    })
  })
}
