/**
 * Workers and TCP health through the real daemon and helper (busybox
 * images): a worker (port null) deploys healthy after its settle time and
 * its output reaches the service log; a worker that dies says why; a TCP
 * check passes through the replica's relay when the port accepts (busybox
 * `nc`) and fails, naming the port, when nothing listens there.
 */
import { Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { busyboxBaseLayer } from "../../../scripts/test-images/images.js"
import type { ImageSpec } from "../../../scripts/test-images/layout.js"
import { daemonLayer } from "../../../src/daemon/layers.js"
import { ADMIN_TOKEN, makeRequest, testConfig, waitFor } from "../../support/daemon.js"
import { buildAndPush } from "../../support/ociImages.js"
import { makeTempDir } from "../../support/tempDir.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("workload tests skipped: they need root (namespaces, overlay mounts)")

const shellImage = (script: string): ImageSpec => ({
  layers: [
    busyboxBaseLayer("gzip"),
    { compression: "gzip", entries: [{ kind: "dir", path: "www", mode: 0o777 }, { kind: "file", path: "www/index.html", content: "x" }] }
  ],
  config: { Cmd: ["/bin/sh", "-c", script] }
})

interface DeploymentRow {
  readonly id: string
  readonly status: string
  readonly error?: string
}

describe.runIf(privileged)("workers and TCP health (privileged)", () => {
  const temp = makeTempDir()
  let scope: Scope.CloseableScope
  let request: ReturnType<typeof makeRequest>
  let address = ""
  let projectId = ""
  let ticker = ""
  let cache = ""

  beforeAll(async () => {
    const config = await testConfig(temp.dir)
    address = config.values.bindAddr
    scope = await Effect.runPromise(Scope.make())
    await Effect.runPromise(Layer.buildWithScope(daemonLayer(config), scope))
    request = makeRequest(`http://${address}`)
    const projects = (await (await request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
    projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
    // hosted repositories belong to services: create them before pushing
    ticker = await createService({ name: "ticker", port: null, health: { type: "running", settleSeconds: 2 } })
    cache = await createService({ name: "cache", port: 6379, health: { type: "tcp", timeoutSeconds: 30 } })
    const credentials = { credentials: { username: "admin", password: ADMIN_TOKEN } }
    await buildAndPush(shellImage("while true; do echo tick; sleep 1; done"), address, "default/ticker", "v1", credentials)
    await buildAndPush(shellImage("echo 'queue: connection refused' >&2; exit 3"), address, "default/ticker", "dies", credentials)
    await buildAndPush(shellImage("exec /bin/busybox nc -ll -p 6379 -e /bin/cat"), address, "default/cache", "nc", credentials)
    await buildAndPush(shellImage("exec /bin/busybox httpd -f -p 8080 -h /www"), address, "default/cache", "elsewhere", credentials)
  }, 180_000)

  afterAll(async () => {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
    temp.cleanup()
  })

  const createService = async (body: Record<string, unknown>): Promise<string> => {
    const r = await request("/v1/services", { method: "POST", json: { projectId, source: { type: "hosted", tag: "v1" }, ...body } })
    expect(r.status).toBe(201)
    return ((await r.json()) as { id: string }).id
  }

  const deploy = async (serviceId: string, repository: string, tag: string): Promise<DeploymentRow> => {
    const r = await request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: { image: `${address}/${repository}:${tag}` } })
    expect(r.status).toBe(202)
    const id = ((await r.json()) as { id: string }).id
    let row: DeploymentRow = { id, status: "pending" }
    await waitFor(async () => {
      row = (await (await request(`/v1/deployments/${id}`)).json()) as DeploymentRow
      return ["healthy", "failed", "stopped"].includes(row.status)
    }, 90_000)
    return row
  }

  it("a worker (port null) deploys healthy after its settle time and its output reaches the service log", async () => {
    const d = await deploy(ticker, "default/ticker", "v1")
    expect(d).toMatchObject({ status: "healthy" })
    let lines: ReadonlyArray<string> = []
    await waitFor(async () => {
      lines = ((await (await request(`/v1/services/${ticker}/logs?tail=50`)).json()) as { lines: Array<string> }).lines
      return lines.filter((l) => l.endsWith(" tick")).length >= 2
    }, 30_000)
    expect(lines.some((l) => l.includes("stdout tick"))).toBe(true)
    const s = (await (await request(`/v1/services/${ticker}`)).json()) as { port: unknown; status?: { state: string } }
    expect(s.port).toBeNull()
    expect(s.status?.state).toBe("running")
    // a worker has no route: the ingress table has no default hostname for it
    const routes = (await (await request("/v1/ingress/routes")).json()) as { items: Array<{ serviceId: string | null }> }
    expect(routes.items.some((r) => r.serviceId === ticker)).toBe(false)
  })

  it("a worker that exits during its settle time fails the deploy with its exit code and last stderr line", async () => {
    const d = await deploy(ticker, "default/ticker", "dies")
    expect(d.status).toBe("failed")
    expect(d.error).toBe("workload exited (code 3): queue: connection refused; see: denia logs ticker")
  })

  it("a TCP check passes through the relay when the port accepts a connection", async () => {
    const d = await deploy(cache, "default/cache", "nc")
    expect(d).toMatchObject({ status: "healthy" })
  })

  it("a TCP check fails naming the port when nothing listens on it inside the replica", async () => {
    const other = await createService({ name: "cache2", port: 6379, health: { type: "tcp", timeoutSeconds: 3 } })
    const d = await deploy(other, "default/cache", "elsewhere")
    expect(d.status).toBe("failed")
    expect(d.error).toBe(
      "health check TCP connect to port 6379 did not pass within 3 s: nothing accepts connections on port 6379 inside the replica; see: denia logs cache2"
    )
  })
})
