/**
 * PostgreSQL from Debian's packages on a volume (privileged; daemon as a
 * child process): a root entrypoint chowns PGDATA and drops to `postgres`
 * with gosu, the TCP health check gates each deployment, and `psql` on the
 * host sees its rows survive a
 * redeploy (recreate), a rollback, a daemon restart and a SIGKILL of the
 * daemon; a stopped service's backup restored into a new service has the
 * same rows. `psql` connects from the host to the service's TCP endpoint
 * (the node network's public port).
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_TOKEN, type ChildRun, makeRequest, startCliDaemon, waitFor, waitForDeploymentStatus } from "../../support/daemon.js"
import { buildAndPushDebianImage } from "../../support/debianImages.js"
import { replicaSockets } from "../../support/deployments.js"
import { makeTestNetwork } from "../../support/network.js"
import { freePort } from "../../support/ports.js"
import { makeTempDir } from "../../support/tempDir.js"
import { PGDATA, POSTGRES_PASSWORD, postgresImage } from "./postgresImage.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("postgres volume test skipped: it needs root (namespaces, overlay and bind mounts)")

describe.runIf(privileged)("postgres on a volume (privileged)", () => {
  const temp = makeTempDir("denia-volpg-")
  const network = makeTestNetwork()
  const dataDir = path.join(temp.dir, "data")
  let env: Record<string, string>
  let url = ""
  let registry = ""
  let daemon: ChildRun | undefined
  let projectId = ""
  const request = (p: string, init?: Parameters<ReturnType<typeof makeRequest>>[1]) => makeRequest(url)(p, init)

  const start = async () => {
    daemon = await startCliDaemon(env, url)
  }
  const waitStatus = (id: string, wanted: ReadonlyArray<string>, timeoutMs = 180_000) =>
    waitForDeploymentStatus(request, id, wanted, timeoutMs)
  const deploymentLog = (id: string) => {
    try {
      return fs.readFileSync(path.join(dataDir, "logs", "deployments", `${id}.log`), "utf8")
    } catch {
      return "(no deployment log)"
    }
  }
  /** Runs `action` and waits for its deployment; anything but healthy throws with the deployment log and the daemon's output. */
  const run = async (serviceId: string, action: string) => {
    const r = await request(`/v1/services/${serviceId}/${action}`, { method: "POST", json: {} })
    const text = await r.text()
    if (!r.ok) throw new Error(`${action}: HTTP ${r.status}: ${text}`)
    const body = JSON.parse(text) as { id?: string; deployment?: { id: string } }
    const id = body.deployment?.id ?? body.id ?? ""
    // long enough for a failed health gate (120 s) and the recreate's restart of the previous one to end `failed`
    const status = await waitStatus(id, ["healthy", "failed"], 280_000).catch((e: unknown) => `not settled (${String(e)})`)
    if (status !== "healthy") {
      throw new Error(
        `${action} deployment ${id}: ${status}\n${deploymentLog(id)}\n--- daemon output (tail) ---\n${
          daemon?.output().slice(-20_000) ?? ""
        }`
      )
    }
    return id
  }
  const createService = async (name: string) => {
    const r = await request("/v1/services", {
      method: "POST",
      json: {
        projectId,
        name,
        source: { type: "hosted", tag: "v1" },
        port: 5432,
        health: { type: "tcp", timeoutSeconds: 120 },
        endpoints: [{ protocol: "tcp", port: 5432 }],
        volumes: [{ name: "data", mountPath: PGDATA }]
      }
    })
    expect(r.status).toBe(201)
    const created = (await r.json()) as { id: string; endpoints: Array<{ publicPort?: number }> }
    const publicPort = created.endpoints[0]?.publicPort
    if (publicPort === undefined) throw new Error("no public port allocated")
    publicPorts.set(created.id, publicPort)
    return created.id
  }
  const publicPorts = new Map<string, number>()
  let current = ""

  /** `psql` on the host against the current service's public TCP port. */
  const psql = async (sql: string): Promise<string> => {
    const port = publicPorts.get(current)
    if (port === undefined) throw new Error("no service")
    return new Promise((resolve, reject) =>
      execFile(
        "psql",
        ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
        { env: { PGPASSWORD: POSTGRES_PASSWORD, PATH: process.env["PATH"] ?? "/usr/bin:/bin", PGCONNECT_TIMEOUT: "10" }, timeout: 30_000 },
        (err, stdout, stderr) => (err === null ? resolve(stdout.trim()) : reject(new Error(`${err.message}\n${stderr}`)))
      )
    )
  }
  /** The rows, once postgres accepts queries again (it may still be recovering). */
  const rows = async () => {
    let out = ""
    await waitFor(async () => {
      out = await psql("SELECT string_agg(name, ',' ORDER BY id) FROM items").catch(() => "")
      return out !== ""
    }, 60_000)
    return out
  }

  let pg = ""
  /** v2 differs from v1 only by a label: another digest, so a rollback has somewhere to go. */
  const push = (repository: string, tag: string) =>
    buildAndPushDebianImage({ ...postgresImage, containerfile: [...postgresImage.containerfile, `LABEL denia.test.tag=${tag}`] }, {
      registry,
      repository,
      tag,
      credentials: { username: "admin", password: ADMIN_TOKEN }
    })

  beforeAll(async () => {
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    registry = `127.0.0.1:${port}`
    env = {
      HOME: temp.dir,
      DENIA_CONFIG_FILE: path.join(temp.dir, "config.toml"),
      DENIA_DATA_DIR: dataDir,
      DENIA_BIND_ADDR: `127.0.0.1:${port}`,
      DENIA_HTTP_PORT: String(await freePort()),
      DENIA_HTTPS_PORT: String(await freePort()),
      DENIA_ADMIN_TOKEN: ADMIN_TOKEN,
      DENIA_STOP_GRACE_SECONDS: "20",
      // the TCP endpoint is forwarded over the node network: a bridge and subnet of this suite's own
      DENIA_NETWORK_MODE: "bridge",
      DENIA_NETWORK_BRIDGE: network.bridge,
      DENIA_NETWORK_SUBNET: network.subnet
    }
    await start()
    const projects = (await (await request("/v1/projects")).json()) as { items: Array<{ id: string }> }
    projectId = projects.items[0]?.id ?? ""
    pg = await createService("pg")
    current = pg
    await push("default/pg", "v1")
    await push("default/pg", "v2")
  }, 900_000)

  afterAll(async () => {
    daemon?.child.kill("SIGTERM")
    await daemon?.exited
    await network.cleanup()
    temp.cleanup()
  }, 60_000)

  it("initializes on an empty volume owned by the image's root and serves psql on its TCP endpoint", async () => {
    await run(pg, "deployments")
    await waitFor(() => psql("SELECT 1").then((r) => r === "1", () => false), 60_000)
    await psql("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)")
    await psql("INSERT INTO items (name) VALUES ('alpha'), ('beta'), ('gamma')")
    expect(await rows()).toBe("alpha,beta,gamma")
    const volume = path.join(dataDir, "volumes", projectId, "pg", "data")
    expect(fs.readFileSync(path.join(volume, "PG_VERSION"), "utf8").trim()).toBe("15")
  }, 300_000)

  it("keeps the rows across a redeploy (recreate) and a rollback", async () => {
    await request(`/v1/services/${pg}`, { method: "PATCH", json: { source: { type: "hosted", tag: "v2" } } })
    const v2 = await run(pg, "deployments")
    expect(fs.readFileSync(path.join(dataDir, "logs", "deployments", `${v2}.log`), "utf8")).toMatch(/recreate: stopping deployment/)
    expect(await rows()).toBe("alpha,beta,gamma")
    await psql("INSERT INTO items (name) VALUES ('delta')")
    await run(pg, "rollback")
    expect(await rows()).toBe("alpha,beta,gamma,delta")
  }, 600_000)

  it("keeps the rows across a daemon restart and a SIGKILL of the daemon", async () => {
    daemon?.child.kill("SIGTERM")
    expect((await daemon?.exited)?.code).toBe(0)
    await start()
    expect(await rows()).toBe("alpha,beta,gamma,delta")
    await psql("INSERT INTO items (name) VALUES ('epsilon')")
    daemon?.child.kill("SIGKILL")
    await daemon?.exited
    await start()
    expect(await rows()).toBe("alpha,beta,gamma,delta,epsilon")
  }, 300_000)

  it("a stopped service's backup restored into a new service gives the same rows", async () => {
    await request(`/v1/services/${pg}/stop`, { method: "POST", json: {} })
    await waitFor(() => replicaSockets(dataDir).length === 0, 60_000)
    // the replica's socket goes before its volume is released: wait until the volume says so
    await waitFor(async () => {
      const listed = (await (await request(`/v1/services/${pg}/volumes`)).json()) as { items: Array<{ mounted: boolean }> }
      return listed.items.every((v) => !v.mounted)
    }, 60_000)
    const backup = await request(`/v1/services/${pg}/volumes/data/archive?compress=zstd`)
    expect(backup.status).toBe(200)
    expect(backup.headers.get("x-denia-snapshot")).toBe("stopped")
    const archive = Buffer.from(await backup.arrayBuffer())

    const restored = await createService("pg-restored")
    await push("default/pg-restored", "v1")
    const put = await request(`/v1/services/${restored}/volumes/data/archive`, {
      method: "PUT",
      body: archive,
      headers: { "content-type": "application/zstd" }
    })
    expect(put.status).toBe(200)
    current = restored
    await run(restored, "deployments")
    expect(await rows()).toBe("alpha,beta,gamma,delta,epsilon")
  }, 300_000)
})
