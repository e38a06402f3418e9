/**
 * Domains through the real daemon: default hostnames, attach → pending →
 * verify → routed, challenge served only for the matching Host, invalid
 * hostnames, detaching, route table and access log endpoints, and an
 * unbindable public port that leaves the API up.
 */
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { waitFor } from "../../support/daemon.js"
import { type DnsServer, startDns } from "../../support/pebble.js"
import { freePort } from "../../support/ports.js"
import { type IngressDaemon, startIngressDaemon } from "./daemon.js"
import { type Replica, request, startReplica, tempDir } from "./helpers.js"

const temp = tempDir()
let dns: DnsServer
let d: IngressDaemon
let web: Replica
let serviceId = ""
let otherServiceId = ""

const body = async <T>(r: Response): Promise<T> => (await r.json()) as T

const createService = async (projectId: string, name: string, extra: Record<string, unknown> = {}) => {
  const r = await d.request("/v1/services", {
    method: "POST",
    json: { projectId, name, port: 8080, source: { type: "image", image: "busybox" }, ...extra }
  })
  expect(r.status).toBe(201)
  return (await body<{ id: string }>(r)).id
}

beforeAll(async () => {
  dns = await startDns()
  d = await startIngressDaemon({
    dns_servers: [dns.address],
    domain_verification_allow_private: true,
    control_domain: "denia.example.test"
  })
  const projects = await body<{ items: Array<{ id: string; name: string }> }>(await d.request("/v1/projects"))
  const projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
  serviceId = await createService(projectId, "web")
  otherServiceId = await createService(projectId, "other")
  web = await startReplica(temp.dir, "web-1")
  await d.publish(serviceId, [{ id: web.id, socketPath: web.socketPath }])
}, 60_000)

afterAll(async () => {
  await d?.stop()
  await web?.close()
  await dns?.stop()
  temp.cleanup()
})

interface DomainBody {
  id: string
  hostname: string
  status: string
  verificationToken: string
  verificationUrl: string
  lastError: string | null
}

describe("domains", () => {
  it("a new service answers at its default hostname without verification", async () => {
    await waitFor(async () => (await request(d.httpPort, "web.default.localhost")).status === 200)
    const r = await request(d.httpPort, "web.default.localhost", "/hello")
    expect(JSON.parse(r.body)).toMatchObject({ replica: "web-1", url: "/hello" })
    expect((await request(d.httpPort, "other.default.localhost")).status).toBe(503)
  })

  it("rejects invalid hostnames with 400 naming the field", async () => {
    const bad = [
      "*.example.com",
      "a..example.com",
      ".example.com",
      "example.com.",
      "exa mple.com",
      "exa\tmple.com",
      "bücher.example",
      `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}.com`,
      "localhost",
      "",
      "-bad.example.com",
      "under_score.example.com",
      "1.2.3.4",
      "denia.example.test",
      "web.default.localhost"
    ]
    for (const hostname of bad) {
      const r = await d.request(`/v1/services/${serviceId}/domains`, { method: "POST", json: { hostname } })
      const text = await r.text()
      expect(r.status, `${JSON.stringify(hostname)}: ${text}`).toBe(400)
      expect(JSON.parse(text).error.message).toMatch(/^hostname: /)
    }
  })

  it("pending → verify → routed; the challenge is served only for the matching Host", async () => {
    const r = await d.request(`/v1/services/${serviceId}/domains`, { method: "POST", json: { hostname: "App.Example.Test" } })
    expect(r.status).toBe(201)
    const domain = await body<DomainBody>(r)
    expect(domain).toMatchObject({ hostname: "app.example.test", status: "pending" })
    expect(domain.verificationUrl).toBe(`http://app.example.test:${d.httpPort}/.well-known/denia-challenge/${domain.verificationToken}`)

    // a pending claim blocks nobody (ADR 0010): another service may claim the same hostname
    const rival = await d.request(`/v1/services/${otherServiceId}/domains`, { method: "POST", json: { hostname: "app.example.test" } })
    expect(rival.status).toBe(201)

    // not routed while pending
    expect((await request(d.httpPort, "app.example.test")).status).toBe(404)
    const challengePath = `/.well-known/denia-challenge/${domain.verificationToken}`
    const served = await request(d.httpPort, "app.example.test", challengePath)
    expect(served.status).toBe(200)
    expect(served.body.length).toBeGreaterThan(0)
    expect((await request(d.httpPort, "evil.example.test", challengePath)).status).toBe(404)
    expect((await request(d.httpPort, "web.default.localhost", challengePath)).status).toBe(404)

    const listed = await body<{ items: Array<DomainBody> }>(await d.request(`/v1/services/${serviceId}/domains`))
    expect(listed.items.map((x) => [x.hostname, x.status])).toEqual([["app.example.test", "pending"]])

    const verified = await d.request(`/v1/services/${serviceId}/domains/${domain.id}/verify`, { method: "POST" })
    expect(verified.status).toBe(200)
    expect(await body<DomainBody>(verified)).toMatchObject({ status: "verified", lastError: null })

    // the first to verify wins: the rival claim is released, and a verified hostname refuses new claims
    const rivals = await body<{ items: Array<DomainBody & { statusReason: string | null }> }>(
      await d.request(`/v1/services/${otherServiceId}/domains`)
    )
    expect(rivals.items.map((x) => [x.hostname, x.status, x.statusReason])).toEqual([[
      "app.example.test",
      "released",
      "verified by another service of this project"
    ]])
    const dup = await d.request(`/v1/services/${otherServiceId}/domains`, { method: "POST", json: { hostname: "app.example.test" } })
    expect(dup.status).toBe(409)

    const routed = await request(d.httpPort, "app.example.test", "/via-domain")
    expect(routed.status).toBe(200)
    expect(JSON.parse(routed.body)).toMatchObject({ replica: "web-1", url: "/via-domain" })
    // once verified the challenge is gone
    expect((await request(d.httpPort, "app.example.test", challengePath)).status).not.toBe(200)

    const routes = await body<{ items: Array<{ hostname: string; kind: string; serviceId: string | null; healthyReplicas: number }> }>(
      await d.request("/v1/ingress/routes")
    )
    expect(routes.items).toContainEqual(
      expect.objectContaining({ hostname: "app.example.test", kind: "domain", serviceId, healthyReplicas: 1 })
    )
    expect(routes.items).toContainEqual(expect.objectContaining({ hostname: "web.default.localhost", kind: "default", serviceId }))
    expect(routes.items).toContainEqual(expect.objectContaining({ hostname: "denia.example.test", kind: "control" }))

    const log = await body<{ items: Array<{ path: string; status: number; replica: string | null }> }>(
      await d.request(`/v1/services/${serviceId}/requests?limit=5`)
    )
    expect(log.items[0]).toMatchObject({ path: "/via-domain", status: 200, replica: "web-1" })

    const del = await d.request(`/v1/services/${serviceId}/domains/${domain.id}`, { method: "DELETE" })
    expect(del.status).toBe(204)
    expect((await request(d.httpPort, "app.example.test")).status).toBe(404)
    expect((await d.request(`/v1/services/${serviceId}/domains/${domain.id}/verify`, { method: "POST" })).status).toBe(404)
  })

  it("the requests log shows why the ingress answered 502/503, with per-service counters (ADR 0502)", async () => {
    const counters = async () =>
      (await body<{ upstreamErrors: Record<string, number> }>(await d.request(`/v1/services/${otherServiceId}/requests`)))
        .upstreamErrors
    const before = await counters()
    expect((await request(d.httpPort, "other.default.localhost", "/nobody-home")).status).toBe(503)
    await d.publish(otherServiceId, [{ id: "gone-1", socketPath: `${temp.dir}/gone.sock` }])
    expect((await request(d.httpPort, "other.default.localhost", "/socket-gone")).status).toBe(502)
    await d.publish(otherServiceId, [])
    const log = await body<{
      items: Array<{ path: string; status: number; error: string | null }>
      upstreamErrors: Record<string, number | string>
    }>(await d.request(`/v1/services/${otherServiceId}/requests`))
    expect(log.items.slice(0, 2).map((e) => [e.path, e.status, e.error])).toEqual([
      ["/socket-gone", 502, "upstream connect failed: ENOENT"],
      ["/nobody-home", 503, "no healthy replica"]
    ])
    expect(log.upstreamErrors).toMatchObject({
      total: (before.total ?? 0) + 2,
      connectFailed: (before.connectFailed ?? 0) + 1,
      noHealthyReplica: (before.noHealthyReplica ?? 0) + 1,
      parseError: before.parseError,
      reset: before.reset,
      timeout: before.timeout
    })
    expect(typeof log.upstreamErrors.since).toBe("string")
    const ok = await body<{ items: Array<{ error: string | null }>; upstreamErrors: { total: number } }>(
      await d.request(`/v1/services/${serviceId}/requests`)
    )
    expect(ok.items.every((e) => e.error === null)).toBe(true)
    expect(ok.upstreamErrors.total).toBe(0)
  })

  it("the control domain proxies to the loopback API", async () => {
    const r = await request(d.httpPort, "denia.example.test", "/healthz")
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body)).toEqual({ status: "ok" })
    const me = await request(d.httpPort, "denia.example.test", "/v1/me", {
      headers: { authorization: `Bearer ${d.config.values.adminToken}` }
    })
    expect(me.status).toBe(200)
  })
})

describe("verification refusals", () => {
  it("internal addresses are refused unless domain_verification_allow_private", async () => {
    const strict = await startIngressDaemon({ dns_servers: [dns.address] })
    try {
      const projects = await body<{ items: Array<{ id: string; name: string }> }>(await strict.request("/v1/projects"))
      const projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
      const s = await strict.request("/v1/services", {
        method: "POST",
        json: { projectId, name: "web", port: 8080, source: { type: "image", image: "busybox" } }
      })
      const sid = (await body<{ id: string }>(s)).id
      const domain = await body<DomainBody>(
        await strict.request(`/v1/services/${sid}/domains`, { method: "POST", json: { hostname: "lan.example.test" } })
      )
      const r = await strict.request(`/v1/services/${sid}/domains/${domain.id}/verify`, { method: "POST" })
      expect(r.status).toBe(422)
      expect(await r.text()).toContain("internal addresses")
      const after = await body<{ items: Array<DomainBody> }>(await strict.request(`/v1/services/${sid}/domains`))
      expect(after.items[0]).toMatchObject({ status: "pending" })
      expect(after.items[0]?.lastError).toContain("internal addresses")
      expect((await request(strict.httpPort, "lan.example.test")).status).toBe(404)
    } finally {
      await strict.stop()
    }
  })
})

describe("certificates", () => {
  it("an ACME failure is visible on the domain and nothing is redirected", async () => {
    const closed = await freePort()
    const daemon = await startIngressDaemon({
      acme_directory_url: `http://127.0.0.1:${closed}/dir`,
      dns_servers: [dns.address],
      domain_verification_allow_private: true
    })
    try {
      const projects = await body<{ items: Array<{ id: string; name: string }> }>(await daemon.request("/v1/projects"))
      const projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
      const s = await daemon.request("/v1/services", {
        method: "POST",
        json: { projectId, name: "web", port: 8080, source: { type: "image", image: "busybox" }, tlsEnabled: true }
      })
      const sid = (await body<{ id: string }>(s)).id
      const domain = await body<DomainBody>(
        await daemon.request(`/v1/services/${sid}/domains`, { method: "POST", json: { hostname: "nocert.example.test" } })
      )
      expect((await daemon.request(`/v1/services/${sid}/domains/${domain.id}/verify`, { method: "POST" })).status).toBe(200)
      let cert: { status: string; error: string | null } | undefined
      await waitFor(async () => {
        const list = await body<{ items: Array<{ certificate: { status: string; error: string | null } }> }>(
          await daemon.request(`/v1/services/${sid}/domains`)
        )
        cert = list.items[0]?.certificate
        return cert?.status === "failed"
      }, 60_000)
      expect(cert?.error).toContain(`ACME request to http://127.0.0.1:${closed}/dir failed`)
      // without a certificate the TLS host is still served over HTTP (no redirect into a failing handshake)
      expect((await request(daemon.httpPort, "nocert.example.test")).status).toBe(503)
    } finally {
      await daemon.stop()
    }
  }, 90_000)
})

describe("public ports", () => {
  it("an unbindable HTTP port is logged and the API keeps running; one verification per domain at a time", async () => {
    // something else holds the HTTP port and never answers
    const held = new Set<net.Socket>()
    const blocker = net.createServer((socket) => {
      held.add(socket)
      socket.on("error", () => undefined)
    })
    await new Promise<void>((resolve) => blocker.listen({ host: "::", port: 0 }, resolve))
    const address = blocker.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    const daemon = await startIngressDaemon({ http_port: port, dns_servers: [dns.address], domain_verification_allow_private: true })
    try {
      expect((await daemon.request("/healthz")).status).toBe(200)
      expect((await daemon.request("/v1/ingress/routes")).status).toBe(200)

      const projects = await body<{ items: Array<{ id: string; name: string }> }>(await daemon.request("/v1/projects"))
      const projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
      const s = await daemon.request("/v1/services", {
        method: "POST",
        json: { projectId, name: "web", port: 8080, source: { type: "image", image: "busybox" } }
      })
      const sid = (await body<{ id: string }>(s)).id
      const domain = await body<DomainBody>(
        await daemon.request(`/v1/services/${sid}/domains`, { method: "POST", json: { hostname: "hang.example.test" } })
      )
      const first = daemon.request(`/v1/services/${sid}/domains/${domain.id}/verify`, { method: "POST" })
      await waitFor(() => held.size > 0)
      const second = await daemon.request(`/v1/services/${sid}/domains/${domain.id}/verify`, { method: "POST" })
      expect(second.status).toBe(409)
      const r = await first
      expect(r.status).toBe(422)
      expect(await r.text()).toContain("no answer")
    } finally {
      await daemon.stop()
      for (const socket of held) socket.destroy()
      await new Promise<void>((resolve) => blocker.close(() => resolve()))
    }
  }, 30_000)
})
