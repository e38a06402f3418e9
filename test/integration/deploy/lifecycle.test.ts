/**
 * Workloads live exactly as long as the daemon: SIGTERM stops every replica
 * without changing desired state, the next boot brings services back, and a
 * SIGKILLed daemon leaves nothing behind after the next boot.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_TOKEN, type ChildRun, makeRequest, startCliDaemon, waitFor, waitForDeploymentStatus } from "../../support/daemon.js"
import { pushHttpd } from "../../support/deployImages.js"
import { getViaSocket, replicaSockets } from "../../support/deployments.js"
import { freePort } from "../../support/ports.js"
import { makeTempDir } from "../../support/tempDir.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("lifecycle tests skipped: they need root (namespaces, overlay mounts)")

/** Pids of processes whose environment carries the marker (the workloads of this test only). */
const processesWithMarker = (marker: string): Array<number> => {
  const out: Array<number> = []
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (fs.readFileSync(`/proc/${entry}/environ`).includes(marker)) out.push(Number(entry))
    } catch {
      // gone or not readable
    }
  }
  return out
}

describe.runIf(privileged)("daemon-bound workload lifecycle (privileged)", () => {
  const temp = makeTempDir()
  const marker = `DENIA_TEST_MARKER_${process.pid}_${Date.now()}`
  let env: Record<string, string>
  let url: string
  let daemon: ChildRun | undefined
  let serviceId = ""
  const request = (p: string, init?: Parameters<ReturnType<typeof makeRequest>>[1]) => makeRequest(url)(p, init)

  const start = async () => {
    daemon = await startCliDaemon(env, url)
  }
  const waitStatus = (id: string, wanted: ReadonlyArray<string>, timeoutMs = 60_000) =>
    waitForDeploymentStatus(request, id, wanted, timeoutMs)
  const servedBody = async () => {
    const sockets = replicaSockets(path.join(temp.dir, "data"))
    if (sockets.length !== 1) return `${sockets.length} sockets`
    // a replica that is still starting may reset the connection
    return getViaSocket(sockets[0] ?? "").then((r) => r.body, (e: Error) => e.message)
  }

  beforeAll(async () => {
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    env = {
      HOME: temp.dir,
      DENIA_CONFIG_FILE: path.join(temp.dir, "config.toml"),
      DENIA_DATA_DIR: path.join(temp.dir, "data"),
      DENIA_BIND_ADDR: `127.0.0.1:${port}`,
      DENIA_HTTP_PORT: String(await freePort()),
      DENIA_HTTPS_PORT: String(await freePort()),
      DENIA_ADMIN_TOKEN: ADMIN_TOKEN,
      DENIA_STOP_GRACE_SECONDS: "3"
    }
    await start()
    const projects = (await (await request("/v1/projects")).json()) as { items: Array<{ id: string }> }
    const created = await request("/v1/services", {
      method: "POST",
      json: { projectId: projects.items[0]?.id, name: "life", source: { type: "hosted", tag: "v1" }, port: 8080, env: { [marker]: "1" } }
    })
    serviceId = ((await created.json()) as { id: string }).id
    await pushHttpd(`127.0.0.1:${port}`, "default/life", "v1", "alive v1")
    const dep = (await (await request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: {} })).json()) as { id: string }
    expect(await waitStatus(dep.id, ["healthy", "failed"])).toBe("healthy")
  }, 180_000)

  afterAll(async () => {
    daemon?.child.kill("SIGKILL")
    // last resort for a failed test: nothing of ours may survive
    for (const pid of processesWithMarker(marker)) process.kill(pid, "SIGKILL")
    temp.cleanup()
  })

  it("SIGTERM stops every replica, exits 0 and leaves no process, socket or replica dir", async () => {
    expect(processesWithMarker(marker).length).toBeGreaterThan(0)
    expect(await servedBody()).toBe("alive v1")
    daemon?.child.kill("SIGTERM")
    const exit = await daemon?.exited
    expect(exit?.code).toBe(0)
    expect(processesWithMarker(marker)).toEqual([])
    expect(replicaSockets(path.join(temp.dir, "data"))).toEqual([])
  }, 60_000)

  it("the next boot brings the service back (desired state kept)", async () => {
    await start()
    await waitFor(async () => (await servedBody()) === "alive v1", 30_000)
    const service = (await (await request(`/v1/services/${serviceId}`)).json()) as { promotedDeploymentId: string | null }
    expect(service.promotedDeploymentId).not.toBeNull()
  }, 60_000)

  it("a workload that dies on its own is relaunched", async () => {
    const before = processesWithMarker(marker)
    expect(before.length).toBeGreaterThan(0)
    for (const pid of before) process.kill(pid, "SIGKILL")
    const newest = async () =>
      ((await (await request(`/v1/services/${serviceId}/deployments`)).json()) as { items: Array<{ status: string }> }).items[0]
    await waitFor(async () => {
      const now = processesWithMarker(marker)
      return now.length > 0 && now.every((p) => !before.includes(p)) && (await newest())?.status === "healthy"
    }, 30_000)
    // the relaunched process exists before it listens: it must come to serve, not at the first look
    await waitFor(async () => (await servedBody()) === "alive v1", 30_000)
    expect(await servedBody()).toBe("alive v1")
  }, 90_000)

  it("after a SIGKILL mid-deploy, the next boot fails that deployment with a reason, sweeps survivors and serves again", async () => {
    // a deploy that will sit in its health gate for a while
    await request(`/v1/services/${serviceId}`, { method: "PATCH", json: { health: { path: "/never", timeoutSeconds: 60 } } })
    const dep = (await (await request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: {} })).json()) as { id: string }
    await waitStatus(dep.id, ["starting"])
    await waitFor(() => processesWithMarker(marker).length >= 2, 30_000) // old + new replica
    daemon?.child.kill("SIGKILL")
    await daemon?.exited
    expect(processesWithMarker(marker).length).toBeGreaterThan(0) // orphans survive the kill

    await start()
    expect(await waitStatus(dep.id, ["failed"], 30_000)).toBe("failed")
    const failed = (await (await request(`/v1/deployments/${dep.id}`)).json()) as { error?: string }
    expect(failed.error).toBe("daemon restarted; deployment aborted")
    const log = fs.readFileSync(path.join(temp.dir, "data", "logs", "deployments", `${dep.id}.log`), "utf8")
    expect(log.trim().split("\n").at(-1)).toMatch(/ FAILED daemon restarted; deployment aborted$/)
    // the promoted deployment is back, alone
    await waitFor(async () => (await servedBody()) === "alive v1", 30_000)
    await waitFor(() => processesWithMarker(marker).length === 1 || processesWithMarker(marker).length === 2, 10_000)
    daemon?.child.kill("SIGTERM")
    expect((await daemon?.exited)?.code).toBe(0)
    expect(processesWithMarker(marker)).toEqual([])
  }, 120_000)
})
