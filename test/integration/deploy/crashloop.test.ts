/**
 * Restarts are events on a deployment, not deployments: a crash-looping image
 * shows `crashloop` with its last exit, backs off exponentially, and rollback
 * goes to the previous deployment with a different image. Failure messages
 * say what happened to the workload.
 */
import { Effect, Exit, Layer, Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { busyboxBaseLayer } from "../../../scripts/test-images/images.js"
import type { ImageSpec } from "../../../scripts/test-images/layout.js"
import { daemonLayer } from "../../../src/daemon/layers.js"
import { ADMIN_TOKEN, makeRequest, testConfig, waitFor } from "../../support/daemon.js"
import { pushHttpd } from "../../support/deployImages.js"
import { getViaSocket, replicaSockets } from "../../support/deployments.js"
import { buildAndPush } from "../../support/ociImages.js"
import { makeTempDir } from "../../support/tempDir.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("crashloop tests skipped: they need root (namespaces, overlay mounts)")

const shellImage = (script: string, exposed?: ReadonlyArray<string>): ImageSpec => ({
  layers: [
    busyboxBaseLayer("gzip"),
    { compression: "gzip", entries: [{ kind: "dir", path: "www", mode: 0o777 }, { kind: "file", path: "www/index.html", content: "x" }] }
  ],
  config: { Cmd: ["/bin/sh", "-c", script], ...(exposed === undefined ? {} : { ExposedPorts: exposed }) }
})

interface ServiceView {
  promotedDeploymentId: string | null
  previousDeploymentId: string | null
  status?: {
    state: string
    restarts: number
    lastExit?: string
    readyReplicas: number
    desiredReplicas: number
    liveDeploymentId: string | null
  }
}
interface DeploymentRow {
  id: string
  status: string
  trigger?: string
  imageDigest?: string
  restartCount?: number
  lastExitReason?: string
  error?: string
}

// fast backoff for the test: 200 ms doubling to 800 ms
const POLICY = { baseMs: 200, capMs: 800, resetAfterMs: 10 * 60_000 }

describe.runIf(privileged)("crash loops and rollback targets (privileged)", () => {
  const temp = makeTempDir()
  let scope: Scope.CloseableScope
  let request: ReturnType<typeof makeRequest>
  let address = ""
  let dataDir = ""
  let serviceId = ""

  beforeAll(async () => {
    const config = await testConfig(temp.dir)
    dataDir = config.paths.dataDir
    address = config.values.bindAddr
    scope = await Effect.runPromise(Scope.make())
    await Effect.runPromise(Layer.buildWithScope(daemonLayer(config, { restartPolicy: POLICY }), scope))
    request = makeRequest(`http://${address}`)
    const projects = (await (await request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
    const created = await request("/v1/services", {
      method: "POST",
      json: {
        projectId: projects.items.find((p) => p.name === "default")?.id,
        name: "web",
        source: { type: "hosted", tag: "v1" },
        port: 8080,
        health: { path: "/", timeoutSeconds: 20 }
      }
    })
    serviceId = ((await created.json()) as { id: string }).id
    const credentials = { credentials: { username: "admin", password: ADMIN_TOKEN } }
    await pushHttpd(address, "default/web", "v1", "hello v1")
    await buildAndPush(shellImage("echo starting; echo 'fatal: config missing' >&2; exit 1"), address, "default/web", "dies", credentials)
    await buildAndPush(
      shellImage("exec /bin/busybox httpd -f -p 3000 -h /www", ["3000/tcp"]),
      address,
      "default/web",
      "port3000",
      credentials
    )
    await buildAndPush(
      shellImage("/bin/busybox httpd -f -p 8080 -h /www & sleep 1; echo boom >&2; exit 1"),
      address,
      "default/web",
      "crashy",
      credentials
    )
  }, 180_000)

  afterAll(async () => {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
    temp.cleanup()
  })

  /** Polls a deployment until it is terminal (bounded). */
  const settled = async (id: string): Promise<DeploymentRow> => {
    let row: DeploymentRow = { id, status: "pending" }
    await waitFor(async () => {
      row = await deployment(id)
      return ["healthy", "failed", "stopped"].includes(row.status)
    }, 60_000)
    return row
  }
  const deploy = async (tag: string) => {
    const r = await request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: { image: `${address}/default/web:${tag}` } })
    expect(r.status).toBe(202)
    return settled(((await r.json()) as { id: string }).id)
  }
  const service = async () => (await (await request(`/v1/services/${serviceId}`)).json()) as ServiceView
  const history = async () =>
    ((await (await request(`/v1/services/${serviceId}/deployments`)).json()) as { items: Array<DeploymentRow> }).items
  const deployment = async (id: string) => (await (await request(`/v1/deployments/${id}`)).json()) as DeploymentRow

  let v1: DeploymentRow

  it("a healthy deployment records its trigger and shows running", async () => {
    v1 = await deploy("v1")
    expect(v1.status).toBe("healthy")
    expect((await deployment(v1.id)).trigger).toBe("api")
    const s = await service()
    expect(s.status).toMatchObject({ state: "running", readyReplicas: 1, desiredReplicas: 1, restarts: 0, liveDeploymentId: v1.id })
    const listed = ((await (await request("/v1/services")).json()) as { items: Array<ServiceView & { id: string }> }).items.find((x) =>
      x.id === serviceId
    )
    expect(listed?.status?.state).toBe("running")
  })

  it("a workload that crashes at start reports its exit code and last stderr line", async () => {
    const failed = await deploy("dies")
    expect(failed.status).toBe("failed")
    expect(failed.error).toBe("workload exited (code 1): fatal: config missing; see: denia logs web")
  })

  it("a workload on the wrong port is named with the image's exposed port, without internal paths", async () => {
    await request(`/v1/services/${serviceId}`, { method: "PATCH", json: { health: { path: "/", timeoutSeconds: 3 } } })
    const failed = await deploy("port3000")
    await request(`/v1/services/${serviceId}`, { method: "PATCH", json: { health: { path: "/", timeoutSeconds: 20 } } })
    expect(failed.status).toBe("failed")
    expect(failed.error).toBe(
      "health check GET / did not pass within 3 s: nothing listens on port 8080 inside the replica (the image exposes 3000); see: denia logs web"
    )
    const log = fs.readFileSync(path.join(dataDir, "logs", "deployments", `${failed.id}.log`), "utf8")
    expect(log).not.toContain(dataDir)
    expect(log).not.toMatch(/EPIPE|ECONNRESET|service\.sock/)
    // the failed deploys left v1 serving
    expect((await service()).status?.state).toBe("running")
  })

  it("a crash-looping image shows crashloop, backs off, and stays one deployment", async () => {
    const before = (await history()).length
    const crashy = await deploy("crashy")
    expect(crashy.status).toBe("healthy")
    const logFile = path.join(dataDir, "logs", "deployments", `${crashy.id}.log`)
    const restartLines = () => [...fs.readFileSync(logFile, "utf8").matchAll(/ FAILED workload exited .*; restart (\d+) in (\d+) ms$/gm)]
    let s = await service()
    await waitFor(async () => {
      s = await service()
      return s.status?.state === "crashloop" && s.status.restarts >= 3 && restartLines().length >= 3
    }, 60_000)
    expect(s.status?.liveDeploymentId).toBe(crashy.id)
    expect(s.status?.lastExit).toMatch(/^workload exited \(code 1\): boom$/)
    // restarts are events on the deployment, not new deployments
    const rows = await history()
    expect(rows.length).toBe(before + 1)
    const row = await deployment(crashy.id)
    expect(row.status).toBe("healthy")
    expect(row.restartCount).toBeGreaterThanOrEqual(3)
    expect(row.lastExitReason).toMatch(/: boom$/)
    // exponential backoff, as written to the deployment log: 200 ms, 400 ms, 800 ms (cap), 800 ms…
    const delays = restartLines().map((m) => [Number(m[1]), Number(m[2])])
    expect(delays.length).toBeGreaterThanOrEqual(3)
    delays.forEach(([n, ms], i) => {
      expect(n).toBe(i + 1)
      expect(ms).toBe(Math.min(800, 200 * 2 ** i))
    })
  }, 90_000)

  it("rollback goes to the previous deployment with a different image, even after redeploying the same one", async () => {
    const again = await deploy("crashy")
    expect(again.status).toBe("healthy")
    const s = await service()
    expect(s.previousDeploymentId).toBe(v1.id)
    const r = await request(`/v1/services/${serviceId}/rollback`, { method: "POST" })
    expect(r.status).toBe(202)
    const receipt = (await r.json()) as { deployment: { id: string } }
    const rolled = await settled(receipt.deployment.id)
    expect(rolled.status).toBe("healthy")
    const row = await deployment(rolled.id)
    expect(row).toMatchObject({ trigger: "rollback", imageDigest: v1.imageDigest })
    const sockets = replicaSockets(dataDir, rolled.id)
    expect(await Promise.all(sockets.map((x) => getViaSocket(x).then((res) => res.body)))).toEqual(["hello v1"])
    expect((await service()).status).toMatchObject({ state: "running", restarts: 0, liveDeploymentId: rolled.id, pendingChanges: false })
  }, 60_000)

  it("a spec edit after the live deployment shows as pending changes", async () => {
    expect((await request(`/v1/services/${serviceId}`, { method: "PATCH", json: { env: { FEATURE: "on" } } })).status).toBe(200)
    expect((await service()).status).toMatchObject({ state: "running", pendingChanges: true })
  })
})
