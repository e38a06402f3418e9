/**
 * One daemon per data dir (ADR 0012): a second daemon on the same data dir
 * exits at once with who holds it, and the first one's replicas keep
 * serving; a SIGKILLed daemon does not leave the lock held. The daemon log
 * has one info line per deploy start/end, sweep and shutdown (JSON here).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_TOKEN, type ChildRun, cliEntry, makeRequest, runCli, waitFor } from "../../support/daemon.js"
import { pushHttpd } from "../../support/deployImages.js"
import { getViaSocket, replicaSockets } from "../../support/deployments.js"
import { freePort } from "../../support/ports.js"
import { makeTempDir } from "../../support/tempDir.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("single-daemon tests skipped: they need root (namespaces, overlay mounts)")

/** Pids of processes whose environment carries the marker (this test's workloads). */
const processesWithMarker = (marker: string): Array<number> =>
  fs.readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      return fs.readFileSync(`/proc/${entry}/environ`).includes(marker) ? [Number(entry)] : []
    } catch {
      return []
    }
  })

/** The JSON log lines' messages (`Logger.json` writes one object per line). */
const messages = (output: string): Array<string> =>
  output.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return []
    try {
      const m = (JSON.parse(line) as { message?: unknown }).message
      return typeof m === "string" ? [m] : Array.isArray(m) ? m.filter((x): x is string => typeof x === "string") : []
    } catch {
      return []
    }
  })

describe.runIf(privileged)("one daemon per data dir (privileged)", () => {
  const temp = makeTempDir()
  const marker = `DENIA_TEST_MARKER_${process.pid}_${Date.now()}`
  const dataDir = path.join(temp.dir, "data")
  let env: Record<string, string>
  let url = ""
  let first: ChildRun | undefined
  let deploymentId = ""
  const request = (p: string, init?: Parameters<ReturnType<typeof makeRequest>>[1]) => makeRequest(url)(p, init)
  const healthz = () => fetch(`${url}/healthz`).then((r) => r.ok, () => false)
  const served = async () => Promise.all(replicaSockets(dataDir).map((s) => getViaSocket(s).then((r) => r.body, (e: Error) => e.message)))

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
      DENIA_LOG_FORMAT: "json",
      DENIA_LOG_LEVEL: "info",
      DENIA_STOP_GRACE_SECONDS: "3"
    }
    first = runCli([], env)
    await waitFor(healthz, 30_000)
    const projects = (await (await request("/v1/projects")).json()) as { items: Array<{ id: string }> }
    const created = await request("/v1/services", {
      method: "POST",
      json: { projectId: projects.items[0]?.id, name: "one", source: { type: "hosted", tag: "v1" }, port: 8080, env: { [marker]: "1" } }
    })
    const serviceId = ((await created.json()) as { id: string }).id
    await pushHttpd(`127.0.0.1:${port}`, "default/one", "v1", "only one")
    deploymentId =
      ((await (await request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: {} })).json()) as { id: string }).id
    await waitFor(
      async () => ((await (await request(`/v1/deployments/${deploymentId}`)).json()) as { status: string }).status === "healthy",
      60_000
    )
  }, 120_000)

  afterAll(async () => {
    first?.child.kill("SIGKILL")
    for (const pid of processesWithMarker(marker)) process.kill(pid, "SIGKILL")
    temp.cleanup()
  })

  it("logs the boot sweep and the deploy's start and end, one JSON line each", async () => {
    // the end line follows the status change the API reported
    await waitFor(() => messages(first?.output() ?? "").some((m) => m.startsWith("deploy finished:")), 10_000)
    const lines = messages(first?.output() ?? "")
    expect(lines.filter((m) => m.startsWith("sweep: removed 0 leftover replica(s)"))).toHaveLength(1)
    expect(lines.filter((m) => m.startsWith(`deploy started: service one deployment ${deploymentId} (api) image `))).toHaveLength(1)
    expect(lines.filter((m) => m.startsWith(`deploy finished: service one deployment ${deploymentId} healthy after `))).toHaveLength(1)
  })

  it("a second daemon on the same data dir exits 1 at once naming the first; the first keeps serving", async () => {
    expect(await served()).toEqual(["only one"])
    // other ports, same data dir: only the lock can stop it
    const second = runCli([], {
      ...env,
      DENIA_BIND_ADDR: `127.0.0.1:${await freePort()}`,
      DENIA_HTTP_PORT: String(await freePort()),
      DENIA_HTTPS_PORT: String(await freePort())
    })
    const exit = await second.exited
    expect(exit.code).toBe(1)
    // not a terminal here: no client-command hint
    expect(second.output().trim()).toBe(`denia: another daemon (pid ${first?.child.pid}) is using ${dataDir}`)
    expect(await served()).toEqual(["only one"])
    expect(await healthz()).toBe(true)
    const dep = (await (await request(`/v1/deployments/${deploymentId}`)).json()) as { status: string; restartCount: number }
    expect(dep).toMatchObject({ status: "healthy", restartCount: 0 })
  }, 30_000)

  it("in a terminal the refusal adds a pointer to the client commands", async () => {
    // script(1) (util-linux) gives the second daemon a pseudo-terminal
    const quoted = [process.execPath, cliEntry].map((a) => `'${a}'`).join(" ")
    const tty = spawn("script", ["--quiet", "--return", "--command", quoted, "/dev/null"], {
      env: { ...process.env, ...env, DENIA_BIND_ADDR: `127.0.0.1:${await freePort()}` },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    tty.stdout.on("data", (c: Buffer) => (out += c.toString()))
    tty.stderr.on("data", (c: Buffer) => (out += c.toString()))
    const code = await new Promise<number | null>((resolve) => tty.on("exit", (c) => resolve(c)))
    expect(code).toBe(1)
    expect(out.replace(/\r/g, "").trim()).toBe(
      `denia: another daemon (pid ${first?.child.pid}) is using ${dataDir}\nrun 'denia --help' for the client commands`
    )
    expect(await healthz()).toBe(true)
  }, 30_000)

  it("SIGTERM logs the shutdown line", async () => {
    first?.child.kill("SIGTERM")
    expect((await first?.exited)?.code).toBe(0)
    expect(messages(first?.output() ?? "").filter((m) => m.startsWith("shutdown: stopped 1 replica(s) of 1 service(s)"))).toHaveLength(1)
  }, 30_000)

  it("a SIGKILLed daemon leaves the data dir free: the next one boots and relaunches the deployment in place", async () => {
    first = runCli([], env)
    await waitFor(healthz, 30_000)
    await waitFor(async () => (await served()).join() === "only one", 30_000)
    first.child.kill("SIGKILL")
    await first.exited
    first = runCli([], env)
    await waitFor(healthz, 30_000)
    // the killed daemon's replica may still answer on its socket until the new daemon's sweep removes it:
    // wait for the relaunch to be recorded, not only for an answer
    const deployment = async () =>
      (await (await request(`/v1/deployments/${deploymentId}`)).json()) as { status: string; restartCount: number }
    await waitFor(async () => (await deployment()).restartCount >= 2, 30_000)
    await waitFor(async () => (await served()).join() === "only one", 30_000)
    // two daemon starts relaunched the same deployment: restart events, not new deployments
    expect(await deployment()).toMatchObject({ status: "healthy", restartCount: 2 })
    expect(messages(first.output()).some((m) => /^sweep: removed 1 leftover replica\(s\)/.test(m))).toBe(true)
    // a workload killed behind the daemon's back: one info line with the reason
    for (const pid of processesWithMarker(marker)) process.kill(pid, "SIGKILL")
    const daemon = first
    await waitFor(
      () =>
        messages(daemon.output()).some((m) =>
          m.startsWith(`replica crashed: service one deployment ${deploymentId}: workload killed by signal 9 (SIGKILL)`)
        ),
      30_000
    )
  }, 90_000)
})
