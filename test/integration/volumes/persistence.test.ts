/**
 * Volumes on real replicas (privileged; the daemon as a child process):
 * data a non-root workload writes survives a redeploy (recreate), a rollback,
 * stop/start, a daemon restart and a SIGKILL of the daemon followed by a
 * restart; the image's files are copied into a new volume once; a volume
 * the image does not populate belongs to the image's user; while a replica
 * runs, a backup is marked live and removal and restore are refused (409).
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { busyboxBaseLayer } from "../../../scripts/test-images/images.js"
import type { ImageSpec } from "../../../scripts/test-images/layout.js"
import { ADMIN_TOKEN, type ChildRun, makeRequest, startCliDaemon, waitFor, waitForDeploymentStatus } from "../../support/daemon.js"
import { getViaSocket, replicaSockets } from "../../support/deployments.js"
import { buildAndPush } from "../../support/ociImages.js"
import { freePort } from "../../support/ports.js"
import { makeTempDir } from "../../support/tempDir.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("volume persistence tests skipped: they need root (namespaces, overlay and bind mounts)")

/** Runs as uid 1000: appends its tag to /data/log.txt (a copied-up volume) and touches /cache (an empty one), serves /data. */
const image = (tag: string): ImageSpec => ({
  layers: [
    busyboxBaseLayer("gzip"),
    {
      compression: "gzip",
      entries: [
        { kind: "dir", path: "data", mode: 0o755, uid: 1000, gid: 1000 },
        { kind: "file", path: "data/seed.txt", content: "from the image\n", uid: 1000, gid: 1000 },
        { kind: "file", path: "data/index.html", content: "ok\n", uid: 1000, gid: 1000 }
      ]
    }
  ],
  config: {
    User: "1000:1000",
    Env: [`TAG=${tag}`],
    Cmd: ["/bin/sh", "-c", "echo \"$TAG\" >> /data/log.txt && id -u > /cache/owner && exec /bin/busybox httpd -f -p 8080 -h /data"]
  }
})

describe.runIf(privileged)("volumes on real replicas (privileged)", () => {
  const temp = makeTempDir("denia-volpersist-")
  const dataDir = path.join(temp.dir, "data")
  let env: Record<string, string>
  let url = ""
  let daemon: ChildRun | undefined
  let serviceId = ""
  let projectId = ""
  const request = (p: string, init?: Parameters<ReturnType<typeof makeRequest>>[1]) => makeRequest(url)(p, init)

  const start = async () => {
    daemon = await startCliDaemon(env, url)
  }
  const waitStatus = (id: string, wanted: ReadonlyArray<string>, timeoutMs = 60_000) =>
    waitForDeploymentStatus(request, id, wanted, timeoutMs)
  const deploy = async (pathSuffix = "deployments", json: unknown = {}) => {
    const r = await request(`/v1/services/${serviceId}/${pathSuffix}`, { method: "POST", json })
    const body = (await r.json()) as { id?: string; deployment?: { id: string } }
    const id = body.deployment?.id ?? body.id ?? ""
    expect(await waitStatus(id, ["healthy", "failed"])).toBe("healthy")
    return id
  }
  /** /log.txt as served by the one running replica (the volume's content). */
  const served = async (file: string) => {
    const sockets = replicaSockets(dataDir)
    if (sockets.length !== 1) return `${sockets.length} sockets`
    return getViaSocket(sockets[0] ?? "", `/${file}`).then((r) => (r.status === 200 ? r.body : `HTTP ${r.status}`), (e: Error) => e.message)
  }
  const logLines = async (expected: ReadonlyArray<string>) => {
    await waitFor(async () => (await served("log.txt")) === expected.map((l) => `${l}\n`).join(""), 30_000)
  }
  const volumeDir = (name: string) => path.join(dataDir, "volumes", projectId, "store", name)

  beforeAll(async () => {
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    env = {
      HOME: temp.dir,
      DENIA_CONFIG_FILE: path.join(temp.dir, "config.toml"),
      DENIA_DATA_DIR: dataDir,
      DENIA_BIND_ADDR: `127.0.0.1:${port}`,
      DENIA_HTTP_PORT: String(await freePort()),
      DENIA_HTTPS_PORT: String(await freePort()),
      DENIA_ADMIN_TOKEN: ADMIN_TOKEN,
      DENIA_STOP_GRACE_SECONDS: "3"
    }
    await start()
    const projects = (await (await request("/v1/projects")).json()) as { items: Array<{ id: string }> }
    projectId = projects.items[0]?.id ?? ""
    const created = await request("/v1/services", {
      method: "POST",
      json: {
        projectId,
        name: "store",
        source: { type: "hosted", tag: "v1" },
        port: 8080,
        volumes: [{ name: "data", mountPath: "/data" }, { name: "cache", mountPath: "/cache" }]
      }
    })
    expect(created.status).toBe(201)
    serviceId = ((await created.json()) as { id: string }).id
    const credentials = { credentials: { username: "admin", password: ADMIN_TOKEN } }
    await buildAndPush(image("v1"), `127.0.0.1:${port}`, "default/store", "v1", credentials)
    await buildAndPush(image("v2"), `127.0.0.1:${port}`, "default/store", "v2", credentials)
  }, 180_000)

  afterAll(async () => {
    daemon?.child.kill("SIGTERM")
    await daemon?.exited
    temp.cleanup()
  })

  it("copies the image's files into a new volume and gives an empty one to the image's user", async () => {
    await deploy()
    await logLines(["v1"])
    expect(await served("seed.txt")).toBe("from the image\n")
    expect(fs.readFileSync(path.join(volumeDir("cache"), "owner"), "utf8")).toBe("1000\n")
    const base = fs.statSync(volumeDir("cache")).uid - 1000
    expect(base).toBeGreaterThan(0)
    expect(fs.statSync(path.join(volumeDir("data"), "log.txt")).uid).toBe(base + 1000)
  }, 120_000)

  it("while it runs: the backup is live, removal and restore are refused", async () => {
    const backup = await request(`/v1/services/${serviceId}/volumes/data/archive`)
    expect(backup.headers.get("x-denia-snapshot")).toBe("live")
    const names = execFileSync("tar", ["-tvf", "-", "--numeric-owner"], { input: Buffer.from(await backup.arrayBuffer()) }).toString()
    expect(names).toMatch(/1000\/1000 .* \.\/log\.txt/)
    const rm = await request(`/v1/services/${serviceId}/volumes/data`, { method: "DELETE" })
    expect(rm.status).toBe(409)
    expect(((await rm.json()) as { error: { message: string } }).error.message).toMatch(/mounted by a running replica/)
    const put = await request(`/v1/services/${serviceId}/volumes/data/archive`, {
      method: "PUT",
      body: fs.readFileSync(path.join(temp.dir, "config.toml")),
      headers: { "content-type": "application/x-tar" }
    })
    expect(put.status).toBe(409)
    const listed = (await (await request(`/v1/services/${serviceId}/volumes`)).json()) as {
      items: Array<{ name: string; mounted: boolean }>
    }
    expect(listed.items.map((v) => [v.name, v.mounted])).toEqual([["data", true], ["cache", true]])
  })

  it("survives a redeploy (recreate), a rollback and stop/start", async () => {
    await request(`/v1/services/${serviceId}`, { method: "PATCH", json: { source: { type: "hosted", tag: "v2" } } })
    const v2 = await deploy()
    await logLines(["v1", "v2"])
    expect(fs.readFileSync(path.join(dataDir, "logs", "deployments", `${v2}.log`), "utf8")).toMatch(/recreate: stopping deployment/)
    await deploy("rollback")
    await logLines(["v1", "v2", "v1"])
    await request(`/v1/services/${serviceId}/stop`, { method: "POST", json: {} })
    await waitFor(() => replicaSockets(dataDir).length === 0, 30_000)
    await deploy("start")
    await logLines(["v1", "v2", "v1", "v1"])
  }, 180_000)

  it("survives a daemon restart and a SIGKILL of the daemon", async () => {
    daemon?.child.kill("SIGTERM")
    expect((await daemon?.exited)?.code).toBe(0)
    await start()
    await logLines(["v1", "v2", "v1", "v1", "v1"])
    daemon?.child.kill("SIGKILL")
    await daemon?.exited
    await start()
    await logLines(["v1", "v2", "v1", "v1", "v1", "v1"])
    expect(await served("seed.txt")).toBe("from the image\n")
  }, 180_000)

  it("a stopped service's backup is consistent; removal works once stopped", async () => {
    await request(`/v1/services/${serviceId}/stop`, { method: "POST", json: {} })
    await waitFor(async () => {
      const listed = (await (await request(`/v1/services/${serviceId}/volumes`)).json()) as { items: Array<{ mounted: boolean }> }
      return listed.items.every((v) => !v.mounted)
    }, 30_000)
    const backup = await request(`/v1/services/${serviceId}/volumes/data/archive`)
    expect(backup.headers.get("x-denia-snapshot")).toBe("stopped")
    const archive = Buffer.from(await backup.arrayBuffer())
    expect(execFileSync("tar", ["-xOf", "-", "./log.txt"], { input: archive }).toString()).toBe("v1\nv2\nv1\nv1\nv1\nv1\n")
    expect((await request(`/v1/services/${serviceId}/volumes/cache`, { method: "DELETE" })).status).toBe(204)
  }, 60_000)
})
