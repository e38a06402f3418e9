/**
 * The first-wave path end to end: image pushed into the hosted registry →
 * deployment → isolated replica → request routed by the ingress on the
 * default hostname, and a redeploy under load with zero failed requests.
 */
import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { pushHttpd } from "../../support/deployImages.js"
import { waitForDeployment } from "../../support/deployments.js"
import { freePort } from "../../support/ports.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("image → routed request test skipped: it needs root (namespaces, overlay mounts)")

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
const viaIngress = (port: number, host: string, urlPath = "/"): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: urlPath, headers: { host }, agent }, (res) => {
      let body = ""
      res.on("data", (c: Buffer) => (body += c.toString()))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")))
    req.end()
  })

describe.runIf(privileged)("image → isolated replica → routed request (privileged)", () => {
  let d: TestDaemon
  let httpPort: number
  let serviceId: string

  beforeAll(async () => {
    httpPort = await freePort()
    d = await startTestDaemon({ http_port: httpPort, https_port: await freePort() })
    const projects = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string }> }
    const svc = await d.request("/v1/services", {
      method: "POST",
      json: { projectId: projects.items[0]?.id, name: "shop", source: { type: "hosted", tag: "v1" }, port: 8080 }
    })
    serviceId = ((await svc.json()) as { id: string }).id
    await pushHttpd(d.config.values.bindAddr, "default/shop", "v1", "shop v1")
    await pushHttpd(d.config.values.bindAddr, "default/shop", "v2", "shop v2")
  }, 120_000)
  afterAll(async () => {
    agent.destroy()
    await d?.stop()
  })

  it("answers on <service>.<project>.localhost once deployed; unknown hosts get 404", async () => {
    const before = await viaIngress(httpPort, "shop.default.localhost")
    expect(before.status).toBe(503)
    const r = await d.request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: {} })
    const dep = await waitForDeployment(d, ((await r.json()) as { id: string }).id)
    expect(dep.status).toBe("healthy")
    const answer = await viaIngress(httpPort, "shop.default.localhost")
    expect(answer).toEqual({ status: 200, body: "shop v1" })
    expect((await viaIngress(httpPort, "nothing.default.localhost")).status).toBe(404)
  })

  it("redeploys under load with zero failed requests", async () => {
    let running = true
    const statuses = new Map<number, number>()
    const bodies = new Set<string>()
    let errors = 0
    const worker = async () => {
      for (let i = 0; running && i < 5000; i++) {
        try {
          const res = await viaIngress(httpPort, "shop.default.localhost")
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
          bodies.add(res.body)
        } catch {
          errors += 1
        }
      }
    }
    const load = Promise.all(Array.from({ length: 8 }, worker))
    const r = await d.request(`/v1/services/${serviceId}/deployments`, {
      method: "POST",
      json: { image: `${d.config.values.bindAddr}/default/shop:v2` }
    })
    const dep = await waitForDeployment(d, ((await r.json()) as { id: string }).id)
    expect(dep.status).toBe("healthy")
    // keep the load on a little after the switch, then stop
    await new Promise((res) => setTimeout(res, 300))
    running = false
    await load
    const total = [...statuses.values()].reduce((a, b) => a + b, 0)
    expect(total).toBeGreaterThan(50)
    expect(errors).toBe(0)
    expect([...statuses.keys()]).toEqual([200])
    expect(bodies).toEqual(new Set(["shop v1", "shop v2"]))
    expect((await viaIngress(httpPort, "shop.default.localhost")).body).toBe("shop v2")
  })
})
