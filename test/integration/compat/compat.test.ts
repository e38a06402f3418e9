/**
 * Real-world images through the real daemon (privileged): images built from
 * Debian packages the way official images are (test/integration/compat/images.ts)
 * are pushed into the hosted registry, deployed through the API, and must
 * come up healthy, answer through the ingress (redis: through its replica
 * socket), show their own log lines, and — probed from inside — hold the
 * engine defaults: CapEff the default set for root and 0 for other users,
 * no_new_privs, seccomp, masked /proc/kcore, no mount, read-only /sys, no
 * host files.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_TOKEN } from "../../support/daemon.js"
import { buildAndPushDebianImage, type DebianImageSpec } from "../../support/debianImages.js"
import { replicaSockets, waitForDeployment } from "../../support/deployments.js"
import { type IngressDaemon, startIngressDaemon } from "../ingress/daemon.js"
import { request, tempDir } from "../ingress/helpers.js"
import { DEFAULT_CAPS, gosuImage, nginxImage, NO_CAPS, pythonImage, redisImage, workerImage } from "./images.js"

const privileged = process.getuid?.() === 0
const tools = ["mmdebstrap", "buildah"].every((t) =>
  (process.env.PATH ?? "").split(":").some((dir) => dir !== "" && fs.existsSync(path.join(dir, t)))
)
if (!privileged) console.warn("compatibility suite skipped: deployments need root (namespaces, overlay mounts)")
else if (!tools) console.warn("compatibility suite skipped: mmdebstrap and buildah are needed to build the Debian test images")

interface Case {
  readonly name: string
  readonly image: DebianImageSpec
  readonly service: Record<string, unknown>
}

describe.runIf(privileged && tools)("real-world images (privileged)", () => {
  const temp = tempDir()
  const hostMarker = path.join(temp.dir, "host-only-secret")
  let d: IngressDaemon
  const ids = new Map<string, string>()
  const deployments = new Map<string, { id: string; status: string; error?: string }>()

  const cases: ReadonlyArray<Case> = [
    { name: "nginx", image: nginxImage, service: { port: 80, health: { type: "http", path: "/", timeoutSeconds: 60 } } },
    { name: "pyapp", image: pythonImage, service: { port: 8000, health: { type: "http", path: "/", timeoutSeconds: 60 } } },
    { name: "gosu", image: gosuImage, service: { port: 8080, health: { type: "http", path: "/", timeoutSeconds: 60 } } },
    { name: "worker", image: workerImage, service: { port: null, env: { HOST_MARKER: hostMarker } } },
    { name: "redis", image: redisImage, service: { port: 6379, health: { type: "tcp", timeoutSeconds: 60 } } }
  ]

  const json = async <T>(r: Response): Promise<T> => (await r.json()) as T

  const logLines = async (name: string): Promise<Array<string>> => {
    const r = await d.request(`/v1/services/${ids.get(name) ?? ""}/logs?tail=2000`)
    if (r.status !== 200) throw new Error(`logs of ${name}: ${r.status} ${await r.text()}`)
    return (await json<{ lines: Array<string> }>(r)).lines
  }

  /** Polls gently (the API rate-limits a token), bounded; the assertion after it says what was missing. */
  const poll = async (check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (await check()) return
      await new Promise((r) => setTimeout(r, 500))
    }
  }

  /** `probe[<uid>]: key=value` lines of a service's log, as a map per uid. */
  const probes = async (name: string): Promise<Map<string, Record<string, string>>> => {
    const out = new Map<string, Record<string, string>>()
    for (const line of await logLines(name)) {
      const m = /probe\[(\d+)\]: ([A-Za-z]+)=(.*)$/.exec(line)
      if (m === null) continue
      const [, uid = "", key = "", value = ""] = m
      const kv = out.get(uid) ?? {}
      kv[key] = value
      out.set(uid, kv)
    }
    return out
  }

  /** Waits (bounded) until the probe of `uid` has finished printing. */
  const probeOf = async (name: string, uid: string): Promise<Record<string, string>> => {
    let found: Record<string, string> | undefined
    await poll(async () => {
      found = (await probes(name)).get(uid)
      return found?.["done"] === "yes"
    })
    expect(found, `no complete probe[${uid}] in the log of ${name}:\n${(await logLines(name)).join("\n")}`).toBeDefined()
    return found ?? {}
  }

  const expectDeployed = (name: string) => {
    const dep = deployments.get(name)
    expect(dep, `${name} was not deployed`).toBeDefined()
    expect(dep?.status, `${name}: ${dep?.error ?? ""}`).toBe("healthy")
  }

  beforeAll(async () => {
    fs.writeFileSync(hostMarker, "the host's own file\n")
    d = await startIngressDaemon()
    const projects = await json<{ items: Array<{ id: string; name: string }> }>(await d.request("/v1/projects"))
    const projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
    for (const c of cases) {
      const created = await d.request("/v1/services", {
        method: "POST",
        json: { projectId, name: c.name, source: { type: "hosted", tag: "v1" }, ...c.service }
      })
      expect(created.status, await created.clone().text()).toBe(201)
      ids.set(c.name, (await json<{ id: string }>(created)).id)
    }
    for (const c of cases) {
      await buildAndPushDebianImage(c.image, {
        registry: d.config.values.bindAddr,
        repository: `default/${c.name}`,
        tag: "v1",
        credentials: { username: "admin", password: ADMIN_TOKEN }
      })
    }
    // deploy all at once; each is judged in its own test
    await Promise.all(cases.map(async (c) => {
      const r = await d.request(`/v1/services/${ids.get(c.name) ?? ""}/deployments`, { method: "POST", json: {} })
      expect(r.status).toBe(202)
      const dep = await waitForDeployment(d, (await json<{ id: string }>(r)).id, 240_000)
      deployments.set(c.name, dep)
    }))
  }, 900_000)

  afterAll(async () => {
    if (d !== undefined) {
      for (const id of ids.values()) await d.request(`/v1/services/${id}/stop`, { method: "POST" }).catch(() => undefined)
      await d.stop()
    }
    temp.cleanup()
  }, 120_000)

  describe("(a) nginx with Debian's default config", () => {
    it("deploys healthy on port 80 and answers through the ingress", async () => {
      expectDeployed("nginx")
      const index = await request(d.httpPort, "nginx.default.localhost", "/")
      expect(index.status).toBe(200)
      expect(index.body).toContain("Welcome to nginx!")
      const page = await request(d.httpPort, "nginx.default.localhost", "/compat.txt")
      expect([page.status, page.body]).toEqual([200, "compat nginx page\n"])
    })

    it("writes its access log to /dev/stdout and it reaches the service log", async () => {
      expectDeployed("nginx")
      await request(d.httpPort, "nginx.default.localhost", "/access-log-probe")
      await poll(async () => (await logLines("nginx")).some((l) => l.includes("\"GET /access-log-probe HTTP/1.1\" 404")), 20_000)
      expect((await logLines("nginx")).some((l) => l.includes("\"GET /access-log-probe HTTP/1.1\" 404"))).toBe(true)
    })

    it("its root entrypoint has the engine default capabilities, no_new_privs and seccomp", async () => {
      expectDeployed("nginx")
      expect(await probeOf("nginx", "0")).toMatchObject({ CapEff: DEFAULT_CAPS, CapAmb: NO_CAPS, NoNewPrivs: "1", Seccomp: "2" })
    })
  })

  describe("(b) python http.server as a named non-root USER", () => {
    it("deploys healthy and serves its WORKDIR through the ingress", async () => {
      expectDeployed("pyapp")
      const r = await request(d.httpPort, "pyapp.default.localhost", "/")
      expect([r.status, r.body]).toEqual([200, "hello from app\n"])
    })

    it("runs as the image user in its home with no capabilities in effect", async () => {
      expectDeployed("pyapp")
      const p = await probeOf("pyapp", await uidOf("app"))
      expect(p).toMatchObject({
        user: "app",
        home: "/home/app",
        cwd: "/home/app",
        CapEff: NO_CAPS,
        CapBnd: DEFAULT_CAPS,
        CapAmb: NO_CAPS,
        NoNewPrivs: "1",
        Seccomp: "2"
      })
    })

    it("a CGI answering bare-LF header lines passes the ingress and reports its status from inside", async () => {
      expectDeployed("pyapp")
      const r = await request(d.httpPort, "pyapp.default.localhost", "/cgi-bin/status")
      expect(r.status).toBe(200)
      expect(r.headers["content-type"]).toBe("text/plain")
      expect(r.body).toMatch(/^CapEff:\s+0000000000000000$/m)
      expect(r.body).toMatch(/^NoNewPrivs:\s+1$/m)
      expect(r.body).toMatch(/^Seccomp:\s+2$/m)
    })

    it("its own request log lines reach the service log", async () => {
      expectDeployed("pyapp")
      await request(d.httpPort, "pyapp.default.localhost", "/?from-the-test")
      await poll(async () => (await logLines("pyapp")).some((l) => l.includes("\"GET /?from-the-test HTTP/1.1\" 200")), 20_000)
      expect((await logLines("pyapp")).some((l) => l.includes("\"GET /?from-the-test HTTP/1.1\" 200"))).toBe(true)
    })
  })

  /** The image's uid for a user name, from the probe lines (whatever useradd picked). */
  const uidOf = async (user: string): Promise<string> => {
    let uid = ""
    await poll(async () => {
      for (const [k, v] of await probes("pyapp")) if (v["user"] === user) uid = k
      return uid !== ""
    })
    expect(uid, `no probe of user ${user}`).not.toBe("")
    return uid
  }

  describe("(c) root entrypoint that chowns /data and drops to www-data with gosu", () => {
    it("deploys healthy; the server runs as www-data and owns /data", async () => {
      expectDeployed("gosu")
      const r = await request(d.httpPort, "gosu.default.localhost", "/")
      expect(r.status).toBe(200)
      expect(JSON.parse(r.body)).toEqual({ uid: 33, user: "www-data", dataOwner: 33, visitsOwner: 33 })
    })

    it("root had the default set before gosu; www-data has none in effect afterwards", async () => {
      expectDeployed("gosu")
      expect(await probeOf("gosu", "0")).toMatchObject({ CapEff: DEFAULT_CAPS, NoNewPrivs: "1", Seccomp: "2" })
      expect(await probeOf("gosu", "33")).toMatchObject({ user: "www-data", CapEff: NO_CAPS, NoNewPrivs: "1", Seccomp: "2" })
    }, 120_000)
  })

  describe("(d) a worker without a port", () => {
    it("deploys healthy and keeps printing its lines", async () => {
      expectDeployed("worker")
      await poll(async () => (await logLines("worker")).some((l) => /worker tick 3\b/.test(l)))
      expect((await logLines("worker")).some((l) => /worker tick 3\b/.test(l))).toBe(true)
    })

    it("as root inside: default capabilities, and the walls hold (kcore, mount, /sys, host files)", async () => {
      expectDeployed("worker")
      const p = await probeOf("worker", "0")
      expect(p).toMatchObject({
        CapEff: DEFAULT_CAPS,
        NoNewPrivs: "1",
        Seccomp: "2",
        mount: "denied",
        sys: "denied",
        host: "unreachable"
      })
      expect(["absent", "0"]).toContain(p["kcore"])
    })
  })

  describe("(e) redis-server with a TCP health check", () => {
    it("deploys healthy and answers PING through its replica socket", async () => {
      expectDeployed("redis")
      const [socket] = replicaSockets(d.dataDir, deployments.get("redis")?.id)
      expect(socket, "no replica socket for redis").toBeDefined()
      const answer = await new Promise<string>((resolve, reject) => {
        const s = net.connect(socket ?? "")
        let out = ""
        const timer = setTimeout(() => {
          s.destroy()
          resolve(out)
        }, 10_000)
        s.on("data", (b: Buffer) => {
          out += b.toString()
          if (out.includes("\r\n")) {
            clearTimeout(timer)
            s.end()
            resolve(out)
          }
        })
        s.on("error", reject)
        s.write("*1\r\n$4\r\nPING\r\n")
      })
      expect(answer).toBe("+PONG\r\n")
    })

    it("its own log lines reach the service log", async () => {
      expectDeployed("redis")
      await poll(async () => (await logLines("redis")).some((l) => l.includes("Ready to accept connections")))
      expect((await logLines("redis")).some((l) => l.includes("Ready to accept connections"))).toBe(true)
    })
  })
})
