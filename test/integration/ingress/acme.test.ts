/**
 * End-to-end ACME against Debian's pebble: a verified domain of a TLS service
 * and the control domain get certificates over HTTP-01, served per SNI and
 * verified against pebble's root; unknown SNI fails the handshake; ALPN is
 * http/1.1 only; HTTP → HTTPS 308.
 */
import * as fs from "node:fs"
import * as https from "node:https"
import * as path from "node:path"
import * as tls from "node:tls"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { waitFor } from "../../support/daemon.js"
import { type DnsServer, type Pebble, startDns, startPebble } from "../../support/pebble.js"
import { freePort } from "../../support/ports.js"
import { type IngressDaemon, startIngressDaemon } from "./daemon.js"
import { type Replica, request, startReplica, tempDir } from "./helpers.js"

const temp = tempDir()
let dns: DnsServer
let pebble: Pebble
let d: IngressDaemon
let web: Replica
let root = ""
let serviceId = ""

const body = async <T>(r: Response): Promise<T> => (await r.json()) as T

interface DomainBody {
  id: string
  status: string
  certificate: { status: string; expiresAt: string | null; error: string | null }
}

beforeAll(async () => {
  const httpPort = await freePort()
  const httpsPort = await freePort()
  dns = await startDns()
  pebble = await startPebble(path.join(temp.dir, "pebble"), { httpPort, httpsPort, dns: dns.address })
  d = await startIngressDaemon({
    http_port: httpPort,
    https_port: httpsPort,
    acme_directory_url: pebble.directoryUrl,
    acme_ca_file: pebble.caFile,
    acme_email: "ops@example.test",
    dns_servers: [dns.address],
    domain_verification_allow_private: true,
    control_domain: "denia.example.test",
    control_tls: true
  })
  root = await pebble.issuerRoot()
  const projects = await body<{ items: Array<{ id: string; name: string }> }>(await d.request("/v1/projects"))
  const projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
  const s = await d.request("/v1/services", {
    method: "POST",
    json: { projectId, name: "shop", port: 8080, source: { type: "image", image: "busybox" }, tlsEnabled: true }
  })
  expect(s.status).toBe(201)
  serviceId = (await body<{ id: string }>(s)).id
  web = await startReplica(temp.dir, "shop-1")
  await d.publish(serviceId, [{ id: web.id, socketPath: web.socketPath }])
}, 120_000)

afterAll(async () => {
  await d?.stop()
  await web?.close()
  await pebble?.stop()
  await dns?.stop()
  temp.cleanup()
})

const handshake = (servername: string, alpn: Array<string> = ["http/1.1"]) =>
  new Promise<tls.TLSSocket>((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port: d.httpsPort, servername, ca: root, ALPNProtocols: alpn })
    socket.once("secureConnect", () => resolve(socket))
    socket.once("error", reject)
  })

const httpsGet = (servername: string, p: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    https
      .get({ host: "127.0.0.1", port: d.httpsPort, path: p, servername, ca: root, headers: { host: servername }, agent: false }, (res) => {
        let text = ""
        res.on("data", (c: Buffer) => (text += c.toString()))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
      })
      .on("error", reject)
  })

describe("ACME with pebble", () => {
  it("issues a certificate for a verified domain of a TLS service and serves it by SNI", async () => {
    const created = await body<DomainBody>(
      await d.request(`/v1/services/${serviceId}/domains`, { method: "POST", json: { hostname: "shop.example.test" } })
    )
    const verified = await d.request(`/v1/services/${serviceId}/domains/${created.id}/verify`, { method: "POST" })
    expect(verified.status).toBe(200)

    let last: DomainBody | undefined
    await waitFor(async () => {
      const list = await body<{ items: Array<DomainBody> }>(await d.request(`/v1/services/${serviceId}/domains`))
      last = list.items[0]
      return last?.certificate.status === "issued" || last?.certificate.status === "failed"
    }, 90_000)
    expect(last?.certificate.error ?? null).toBeNull()
    expect(last?.certificate.status).toBe("issued")
    expect(last?.certificate.expiresAt).not.toBeNull()

    const socket = await handshake("shop.example.test", ["h2", "http/1.1"])
    expect(socket.authorized).toBe(true)
    expect(socket.alpnProtocol).toBe("http/1.1")
    expect(socket.getPeerX509Certificate()?.checkHost("shop.example.test")).toBe("shop.example.test")
    socket.destroy()

    const r = await httpsGet("shop.example.test", "/secure")
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body)).toMatchObject({
      replica: "shop-1",
      url: "/secure",
      headers: { "x-forwarded-proto": "https", "x-forwarded-host": "shop.example.test" }
    })

    // key material on disk: 0600 files in 0700 directories
    const certDir = path.join(d.dataDir, "tls", "certs", "shop.example.test")
    expect(fs.statSync(certDir).mode & 0o777).toBe(0o700)
    expect(fs.statSync(path.join(certDir, "key.pem")).mode & 0o777).toBe(0o600)
    expect(fs.statSync(path.join(certDir, "cert.pem")).mode & 0o777).toBe(0o600)
    expect(fs.statSync(path.join(d.dataDir, "tls", "acme", "account.key")).mode & 0o777).toBe(0o600)
    expect(fs.statSync(path.join(d.dataDir, "tls", "acme")).mode & 0o777).toBe(0o700)
  }, 120_000)

  it("passes WebSockets through over TLS (wss)", async () => {
    // (ws passes TLS options such as servername through to tls.connect)
    const options = { servername: "shop.example.test", ca: root, headers: { host: "shop.example.test" } }
    const ws = new WebSocket(`wss://127.0.0.1:${d.httpsPort}/ws`, options)
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on("open", () => ws.send("over tls"))
      ws.on("message", (m: Buffer) => {
        resolve(m.toString())
        ws.close()
      })
      ws.on("error", reject)
    })
    expect(reply).toBe("shop-1:over tls")
  })

  it("redirects HTTP to HTTPS (308) for a TLS host with a certificate", async () => {
    const r = await request(d.httpPort, "shop.example.test", "/a/b?c=1")
    expect(r.status).toBe(308)
    expect(r.headers.location).toBe(`https://shop.example.test:${d.httpsPort}/a/b?c=1`)
    // the default hostname of the same service is not redirected
    expect((await request(d.httpPort, "shop.default.localhost")).status).toBe(200)
  })

  it("an unknown SNI (or none) fails the handshake", async () => {
    await expect(handshake("unknown.example.test")).rejects.toThrow()
    await expect(handshake("shop.default.localhost")).rejects.toThrow()
    await expect(
      new Promise((resolve, reject) => {
        const socket = tls.connect({ host: "127.0.0.1", port: d.httpsPort, rejectUnauthorized: false })
        socket.once("secureConnect", () => resolve(socket))
        socket.once("error", reject)
      })
    ).rejects.toThrow()
  })

  it("serves the control domain over HTTPS with its own certificate", async () => {
    await waitFor(async () => {
      const routes = await body<{ items: Array<{ hostname: string; certificateExpiresAt: string | null }> }>(
        await d.request("/v1/ingress/routes")
      )
      return routes.items.some((x) => x.hostname === "denia.example.test" && x.certificateExpiresAt !== null)
    }, 90_000)
    const r = await httpsGet("denia.example.test", "/healthz")
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body)).toEqual({ status: "ok" })
    const plain = await request(d.httpPort, "denia.example.test", "/healthz")
    expect(plain.status).toBe(308)
  }, 120_000)
})
