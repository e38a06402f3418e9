/**
 * The whole path with real replicas: a service deployed by the deployment
 * pipeline (busybox httpd in its sandbox) answers through the ingress at its
 * default hostname, then at a verified custom domain over HTTPS with a
 * pebble-issued certificate; a redeploy under load yields no non-2xx answer.
 */
import * as http from "node:http"
import * as https from "node:https"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { waitFor } from "../../support/daemon.js"
import { pushHttpd } from "../../support/deployImages.js"
import { waitForDeployment } from "../../support/deployments.js"
import { type DnsServer, type Pebble, startDns, startPebble } from "../../support/pebble.js"
import { freePort } from "../../support/ports.js"
import { type IngressDaemon, startIngressDaemon } from "./daemon.js"
import { request, tempDir } from "./helpers.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("ingress with deployed replicas skipped: deployments need root (namespaces, overlay mounts)")

describe.runIf(privileged)("ingress in front of deployed replicas (privileged)", () => {
  const temp = tempDir()
  let dns: DnsServer
  let pebble: Pebble
  let d: IngressDaemon
  let serviceId = ""

  const body = async <T>(r: Response): Promise<T> => (await r.json()) as T

  const deploy = async () => {
    const r = await d.request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: {} })
    expect(r.status).toBe(202)
    return (await body<{ id: string }>(r)).id
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
      dns_servers: [dns.address],
      domain_verification_allow_private: true
    })
    const projects = await body<{ items: Array<{ id: string; name: string }> }>(await d.request("/v1/projects"))
    const projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
    const created = await d.request("/v1/services", {
      method: "POST",
      json: {
        projectId,
        name: "site",
        source: { type: "hosted", tag: "v1" },
        port: 8080,
        health: { path: "/", timeoutSeconds: 20 },
        tlsEnabled: true
      }
    })
    expect(created.status).toBe(201)
    serviceId = (await body<{ id: string }>(created)).id
    await pushHttpd(d.config.values.bindAddr, "default/site", "v1", "hello v1")
    await pushHttpd(d.config.values.bindAddr, "default/site", "v2", "hello v2")
  }, 180_000)

  afterAll(async () => {
    await d?.stop()
    await pebble?.stop()
    await dns?.stop()
    temp.cleanup()
  })

  it("answers at the default hostname once deployed", async () => {
    const id = await deploy()
    expect(await waitForDeployment(d, id, 120_000)).toMatchObject({ status: "healthy" })
    await waitFor(async () => (await request(d.httpPort, "site.default.localhost")).status === 200)
    const r = await request(d.httpPort, "site.default.localhost", "/")
    expect(r.body).toBe("hello v1")
  }, 180_000)

  it("answers at a verified custom domain over HTTPS with a pebble certificate", async () => {
    const domain = await body<{ id: string }>(
      await d.request(`/v1/services/${serviceId}/domains`, { method: "POST", json: { hostname: "site.example.test" } })
    )
    expect((await d.request(`/v1/services/${serviceId}/domains/${domain.id}/verify`, { method: "POST" })).status).toBe(200)
    await waitFor(async () => {
      const list = await body<{ items: Array<{ certificate: { status: string } }> }>(await d.request(`/v1/services/${serviceId}/domains`))
      return list.items[0]?.certificate.status === "issued"
    }, 90_000)
    const root = await pebble.issuerRoot()
    const r = await new Promise<{ status: number; body: string; authorized: boolean }>((resolve, reject) => {
      https
        .get({
          host: "127.0.0.1",
          port: d.httpsPort,
          path: "/",
          servername: "site.example.test",
          ca: root,
          headers: { host: "site.example.test" },
          agent: false
        }, (res) => {
          let text = ""
          res.on("data", (c: Buffer) => (text += c.toString()))
          res.on(
            "end",
            () =>
              resolve({ status: res.statusCode ?? 0, body: text, authorized: (res.socket as { authorized?: boolean }).authorized === true })
          )
        })
        .on("error", reject)
    })
    expect(r).toEqual({ status: 200, body: "hello v1", authorized: true })
    expect((await request(d.httpPort, "site.example.test", "/")).status).toBe(308)
  }, 180_000)

  it("a redeploy under load answers every request with 2xx", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 })
    const statuses = new Map<number, number>()
    const bodies = new Set<string>()
    let redeployed = false
    let after = 0
    let sent = 0
    const worker = async () => {
      // a fixed minimum of 20 000 requests, and at least 500 more once the new deployment is live
      while (sent < 20_000 || !redeployed || after < 500) {
        sent++
        if (redeployed) after++
        const r = await request(d.httpPort, "site.default.localhost", "/", { agent }).catch(() => ({ status: -1, body: "" }))
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
        bodies.add(r.body)
      }
    }
    const patched = await d.request(`/v1/services/${serviceId}`, { method: "PATCH", json: { source: { type: "hosted", tag: "v2" } } })
    expect(patched.status).toBe(200)
    const redeploy = (async () => {
      await new Promise((r) => setTimeout(r, 200))
      const dep = await waitForDeployment(d, await deploy(), 120_000)
      redeployed = true
      return dep
    })()
    await Promise.all(Array.from({ length: 20 }, worker))
    agent.destroy()
    expect(await redeploy).toMatchObject({ status: "healthy" })
    expect(Object.keys(Object.fromEntries(statuses))).toEqual(["200"])
    expect(bodies).toContain("hello v2")
  }, 300_000)
})
