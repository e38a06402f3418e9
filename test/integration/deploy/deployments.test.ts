/**
 * Deployments end to end on the real runtime: images pushed with skopeo into
 * the hosted registry, deployed, health-gated, promoted, rolled back, stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_TOKEN, runCli, startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { pushHttpd } from "../../support/deployImages.js"
import { getViaSocket, readSse, replicaSockets, waitForDeployment } from "../../support/deployments.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("deployments tests skipped: they need root (namespaces, overlay mounts)")

describe.runIf(privileged)("deployments (privileged)", () => {
  let d: TestDaemon
  let projectId: string
  let serviceId: string
  const address = () => d.config.values.bindAddr

  beforeAll(async () => {
    d = await startTestDaemon()
    const projects = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
    projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
    const created = await d.request("/v1/services", {
      method: "POST",
      json: {
        projectId,
        name: "web",
        source: { type: "hosted", tag: "v1" },
        port: 8080,
        env: { SERVICE_LEVEL: "svc" },
        health: { path: "/", timeoutSeconds: 20 }
      }
    })
    serviceId = ((await created.json()) as { id: string }).id
    await pushHttpd(address(), "default/web", "v1", "hello v1")
    await pushHttpd(address(), "default/web", "v2", "hello v2")
    await pushHttpd(address(), "default/web", "slow", "hello slow", 1)
  }, 120_000)
  afterAll(async () => {
    await d?.stop()
  })

  const deploy = async (body: Record<string, unknown> = {}) => {
    const r = await d.request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: body })
    expect(r.status).toBe(202)
    const dep = (await r.json()) as { id: string; status: string }
    expect(dep.status).toBe("pending")
    return dep.id
  }

  /** What the promoted deployment's replicas answer (old replicas may still be draining). */
  const served = async () => {
    const service = (await (await d.request(`/v1/services/${serviceId}`)).json()) as { promotedDeploymentId: string }
    const sockets = replicaSockets(d.dataDir, service.promotedDeploymentId)
    return Promise.all(sockets.map((s) => getViaSocket(s).then((r) => r.body)))
  }

  it("deploys a hosted image to healthy and serves it through the replica socket", async () => {
    const id = await deploy()
    const dep = await waitForDeployment(d, id)
    expect(dep, JSON.stringify(dep)).toMatchObject({ status: "healthy" })
    expect(dep.imageDigest).toMatch(/^sha256:/)
    expect(await served()).toEqual(["hello v1"])
    const service = (await (await d.request(`/v1/services/${serviceId}`)).json()) as { promotedDeploymentId: string }
    expect(service.promotedDeploymentId).toBe(id)
  })

  it("streams the deployment log as SSE with phases, resumable, ending with the final status", async () => {
    const list = (await (await d.request(`/v1/services/${serviceId}/deployments`)).json()) as { items: Array<{ id: string }> }
    const id = list.items[0]?.id ?? ""
    const r = await d.request(`/v1/deployments/${id}/logs`)
    expect(r.headers.get("content-type")).toContain("text/event-stream")
    const text = await readSse(r)
    for (const phase of ["PENDING", "BUILDING", "STARTING", "HEALTH", "HEALTHY"]) expect(text).toMatch(new RegExp(`data: \\S+Z ${phase} `))
    expect(text).toMatch(/event: end\ndata: \{"status":"healthy"\}/)
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
    const middle = ids[Math.floor(ids.length / 2)] ?? 0
    const resumed = await readSse(await d.request(`/v1/deployments/${id}/logs?since=${middle}`))
    const resumedIds = [...resumed.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
    expect(resumedIds.every((n) => n > middle)).toBe(true)
    expect(resumedIds.length).toBe(ids.filter((n) => n > middle).length)
    expect(resumed).toContain("event: end")
  })

  it("a deploy whose health check never passes fails and the previous deployment keeps serving", async () => {
    await d.request(`/v1/services/${serviceId}`, { method: "PATCH", json: { health: { path: "/missing", timeoutSeconds: 2 } } })
    const id = await deploy({ image: `${address()}/default/web:v2` })
    const dep = await waitForDeployment(d, id)
    expect(dep.status).toBe("failed")
    expect(dep.error).toMatch(/health check GET \/missing/)
    expect(await served()).toEqual(["hello v1"])
    await d.request(`/v1/services/${serviceId}`, { method: "PATCH", json: { health: { path: "/", timeoutSeconds: 20 } } })
  })

  it("redeploys v2, then rolls back to v1", async () => {
    const v2 = await waitForDeployment(d, await deploy({ image: `${address()}/default/web:v2` }))
    expect(v2.status).toBe("healthy")
    expect(await served()).toEqual(["hello v2"])
    const r = await d.request(`/v1/services/${serviceId}/rollback`, { method: "POST" })
    expect(r.status).toBe(202)
    const receipt = (await r.json()) as { deployment: { id: string } }
    const rolled = await waitForDeployment(d, receipt.deployment.id)
    expect(rolled.status).toBe("healthy")
    expect(await served()).toEqual(["hello v1"])
  })

  it("launches with the effective env: image < project shared < service < secrets, plus PORT", async () => {
    await d.request(`/v1/projects/${projectId}`, { method: "PATCH", json: { sharedEnv: { SHARED: "project", SERVICE_LEVEL: "project" } } })
    const secret = await d.request(`/v1/services/${serviceId}/secrets`, {
      method: "POST",
      json: { name: "API_KEY", value: "s3cr3t-value" }
    })
    expect(secret.status).toBeLessThan(300)
    const dep = await waitForDeployment(d, await deploy({ image: `${address()}/default/web:v1` }))
    expect(dep.status).toBe("healthy")
    const service = (await (await d.request(`/v1/services/${serviceId}`)).json()) as { promotedDeploymentId: string }
    const [socket] = replicaSockets(d.dataDir, service.promotedDeploymentId)
    const env = (await getViaSocket(socket ?? "", "/env.txt")).body
    expect(env).toMatch(/^GREETING=from-image$/m)
    expect(env).toMatch(/^SHARED=project$/m)
    expect(env).toMatch(/^SERVICE_LEVEL=svc$/m)
    expect(env).toMatch(/^API_KEY=s3cr3t-value$/m)
    expect(env).toMatch(/^PORT=8080$/m)
    // the secret value never reaches the deployment log
    const log = await readSse(await d.request(`/v1/deployments/${dep.id}/logs`))
    expect(log).not.toContain("s3cr3t-value")
    const lines = ((await (await d.request(`/v1/services/${serviceId}/logs?tail=50`)).json()) as { lines: Array<string> }).lines
    expect(Array.isArray(lines)).toBe(true)
  })

  it("the CLI deploys with a live log, lists deployments and prints logs", async () => {
    const flags = ["--url", `http://${address()}`, "--token", ADMIN_TOKEN]
    const deploy = runCli(["deploy", "default/web", ...flags], {})
    const exit = await deploy.exited
    expect(exit.code, deploy.output()).toBe(0)
    expect(deploy.output()).toMatch(/ HEALTHY promoted; receiving traffic/)
    expect(deploy.output()).toMatch(/: healthy\n/)
    const list = runCli(["deployments", "default/web", "--json", ...flags], {})
    expect((await list.exited).code).toBe(0)
    expect((JSON.parse(list.output()) as { items: Array<{ status: string }> }).items[0]?.status).toBe("healthy")
    const logs = runCli(["logs", "default/web", "--tail", "5", ...flags], {})
    expect((await logs.exited).code).toBe(0)
    const failing = runCli(["deploy", "default/nope", ...flags], {})
    expect((await failing.exited).code).toBe(1)
    expect(failing.output()).toMatch(/no service named "nope"/)
  })

  it("stop clears the promoted pointer and leaves no replica; start brings it back", async () => {
    expect((await d.request(`/v1/services/${serviceId}/stop`, { method: "POST" })).status).toBe(202)
    const promoted = async () =>
      ((await (await d.request(`/v1/services/${serviceId}`)).json()) as { promotedDeploymentId: string | null }).promotedDeploymentId
    for (let i = 0; i < 100 && (replicaSockets(d.dataDir).length > 0 || (await promoted()) !== null); i++) {
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(replicaSockets(d.dataDir)).toEqual([])
    expect(await promoted()).toBeNull()
    expect((await d.request(`/v1/services/${serviceId}/restart`, { method: "POST" })).status).toBe(409)
    const start = await d.request(`/v1/services/${serviceId}/start`, { method: "POST" })
    expect(start.status).toBe(202)
    const dep = await waitForDeployment(d, ((await start.json()) as { deployment: { id: string } }).deployment.id)
    expect(dep.status).toBe("healthy")
    expect(await served()).toEqual(["hello v1"])
  })

  it("concurrent deploys of one service are serialized; queued older ones are superseded by the newest", async () => {
    const first = await deploy({ image: `${address()}/default/web:slow` })
    const middle = await deploy({ image: `${address()}/default/web:v2` })
    const last = await deploy({ image: `${address()}/default/web:v1` })
    expect((await waitForDeployment(d, first)).status).toBe("healthy")
    const superseded = await waitForDeployment(d, middle)
    expect(superseded.status).toBe("failed")
    expect(superseded.error).toBe(`superseded by deployment ${last}`)
    expect((await waitForDeployment(d, last)).status).toBe("healthy")
    expect(await served()).toEqual(["hello v1"])
  })

  it("deleting the service stops it first", async () => {
    expect((await d.request(`/v1/services/${serviceId}`, { method: "DELETE" })).status).toBe(204)
    expect(replicaSockets(d.dataDir)).toEqual([])
  })
})
