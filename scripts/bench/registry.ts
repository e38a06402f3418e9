/**
 * bench:registry — skopeo push and pull of a ~100 MB image to Denia's hosted
 * registry and to Debian's docker-registry, same machine, same run. Also
 * samples the Denia daemon's RSS while it receives the push. Writes
 * bench/results/registry.json.
 *
 *   npm run bench:registry              # needs `npm run build` (dist/main.js)
 *   REGISTRY_BENCH_RUNS=5 REGISTRY_BENCH_MB=200 npm run bench:registry
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { freePort, type RunningRegistry, startRegistry } from "../../test/support/registry.js"
import { largeImage } from "../test-images/images.js"
import { runTool, writeOciLayout } from "../test-images/layout.js"

interface Metric {
  readonly name: string
  readonly unit: string
  readonly denia: number
  readonly anchor: number
  readonly anchorName: string
  readonly ratio: number
}

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..")
const runs = Math.max(1, Number(process.env["REGISTRY_BENCH_RUNS"] ?? "3"))
const imageMb = Math.max(1, Number(process.env["REGISTRY_BENCH_MB"] ?? "100"))
const ADMIN_TOKEN = "b".repeat(64)

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}
const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d

const rssMb = async (pid: number): Promise<number> => {
  const text = await fs.readFile(`/proc/${pid}/status`, "utf8").catch(() => "")
  const m = /VmRSS:\s+(\d+) kB/.exec(text)
  return m?.[1] === undefined ? 0 : Number(m[1]) / 1024
}

/** Runs `f` while sampling the RSS of `pid` every 10 ms; returns f's wall time and the peak RSS seen. */
const sampled = async (pid: number, f: () => Promise<unknown>) => {
  let peak = await rssMb(pid)
  const timer = setInterval(() => void rssMb(pid).then((v) => (peak = Math.max(peak, v))), 10)
  const t0 = performance.now()
  try {
    await f()
  } finally {
    clearInterval(timer)
  }
  const ms = performance.now() - t0
  peak = Math.max(peak, await rssMb(pid))
  return { ms, peakRssMb: peak }
}

const skopeo = (args: ReadonlyArray<string>) => runTool("skopeo", ["--insecure-policy", ...args])

/** The docker-registry process serving `reg` (found by its config path under the registry's temp dir). */
const registryPid = async (reg: RunningRegistry): Promise<number> => {
  const dir = path.dirname(reg.storageDir)
  for (const entry of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const cmd = await fs.readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")
    if (cmd.startsWith("docker-registry\0serve\0") && cmd.includes(dir)) return Number(entry)
  }
  throw new Error("docker-registry process not found")
}

interface Daemon {
  readonly child: ChildProcess
  readonly host: string
  readonly stop: () => Promise<void>
}

const startDaemon = async (work: string): Promise<Daemon> => {
  const port = await freePort()
  const configDir = path.join(work, "denia-config")
  await fs.mkdir(configDir, { recursive: true })
  const env = {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: work,
    DENIA_CONFIG_FILE: path.join(configDir, "config.toml"),
    DENIA_DATA_DIR: path.join(work, "denia-data"),
    DENIA_BIND_ADDR: `127.0.0.1:${port}`,
    DENIA_ADMIN_TOKEN: ADMIN_TOKEN,
    DENIA_LOG_LEVEL: "error"
  }
  const child = spawn(process.execPath, [path.join(repoRoot, "dist", "main.js")], { env, stdio: ["ignore", "pipe", "pipe"] })
  let logs = ""
  child.stdout?.on("data", (d: Buffer) => (logs = (logs + d.toString()).slice(-4000)))
  child.stderr?.on("data", (d: Buffer) => (logs = (logs + d.toString()).slice(-4000)))
  const host = `127.0.0.1:${port}`
  for (let i = 0;; i++) {
    if (child.exitCode !== null) throw new Error(`daemon exited: ${logs}`)
    const up = await fetch(`http://${host}/healthz`).then(
      (r) => r.ok,
      () => false
    )
    if (up) break
    if (i > 300) throw new Error(`daemon did not start: ${logs}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    child,
    host,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise<void>((r) => child.once("exit", () => r()))
      child.kill("SIGTERM")
      await exited
    }
  }
}

const api = async (host: string, p: string, body?: unknown) => {
  const r = await fetch(`http://${host}${p}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`)
  return (await r.json()) as unknown
}

const main = async () => {
  await fs.access(path.join(repoRoot, "dist", "main.js")).catch(() => {
    throw new Error("dist/main.js is missing; run `npm run build` first")
  })
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "denia-bench-registry-"))
  const anchor = await startRegistry()
  const daemon = await startDaemon(work)
  const metrics: Array<Metric> = []
  const notes: Array<string> = []
  try {
    const daemonPid = daemon.child.pid ?? 0
    const anchorPid = await registryPid(anchor)
    const projects = (await api(daemon.host, "/v1/projects")) as { items: Array<{ id: string; name: string }> }
    const projectId = projects.items.find((p) => p.name === "default")?.id ?? ""

    const push = { denia: [] as Array<number>, anchor: [] as Array<number> }
    const pull = { denia: [] as Array<number>, anchor: [] as Array<number> }
    const pushRss = { denia: [] as Array<number>, anchor: [] as Array<number> }
    const baselineRss = await rssMb(daemonPid)
    const anchorBaselineRss = await rssMb(anchorPid)
    for (let i = 0; i < runs; i++) {
      // A fresh image per run: no blob is known to either registry (or skopeo's blob-info cache), so every push uploads everything.
      const layout = path.join(work, `layout-${i}`)
      process.stdout.write(`building a ${imageMb} MB image…\n`)
      await writeOciLayout(layout, largeImage(imageMb, 5, 8), "bench")
      const service = `bench${i}`
      await api(daemon.host, "/v1/services", { projectId, name: service, source: { type: "hosted", tag: "latest" }, port: 8080 })
      const targets = [
        {
          who: "denia" as const,
          pid: daemonPid,
          ref: `docker://${daemon.host}/default/${service}:v1`,
          creds: ["--creds", `bench:${ADMIN_TOKEN}`]
        },
        { who: "anchor" as const, pid: anchorPid, ref: `docker://${anchor.host}/bench/run${i}:v1`, creds: [] as Array<string> }
      ]
      // alternate who goes first so page-cache warmth does not favour one side
      if (i % 2 === 1) targets.reverse()
      for (const t of targets) {
        const destCreds = t.creds.length > 0 ? ["--dest-creds", t.creds[1] ?? ""] : []
        const p = await sampled(
          t.pid,
          () => skopeo(["copy", "--quiet", "--dest-tls-verify=false", ...destCreds, `oci:${layout}:bench`, t.ref])
        )
        push[t.who].push(p.ms)
        pushRss[t.who].push(p.peakRssMb)
        const out = path.join(work, `pulled-${t.who}-${i}`)
        const srcCreds = t.creds.length > 0 ? ["--src-creds", t.creds[1] ?? ""] : []
        const q = await sampled(t.pid, () => skopeo(["copy", "--quiet", "--src-tls-verify=false", ...srcCreds, t.ref, `oci:${out}:bench`]))
        pull[t.who].push(q.ms)
        await fs.rm(out, { recursive: true, force: true })
        process.stdout.write(
          `run ${i + 1} ${t.who === "denia" ? "denia " : "docker-registry"}: push ${round(p.ms / 1000)} s (server peak RSS ${
            round(p.peakRssMb, 1)
          } MB), pull ${round(q.ms / 1000)} s\n`
        )
      }
      await fs.rm(layout, { recursive: true, force: true })
    }
    const anchorName = "docker-registry (Debian, distribution 2.x)"
    const pushS = { denia: median(push.denia) / 1000, anchor: median(push.anchor) / 1000 }
    const pullS = { denia: median(pull.denia) / 1000, anchor: median(pull.anchor) / 1000 }
    const rss = { denia: Math.max(...pushRss.denia), anchor: Math.max(...pushRss.anchor) }
    metrics.push(
      {
        name: "push",
        unit: "s",
        denia: round(pushS.denia),
        anchor: round(pushS.anchor),
        anchorName,
        ratio: round(pushS.denia / pushS.anchor)
      },
      {
        name: "pull",
        unit: "s",
        denia: round(pullS.denia),
        anchor: round(pullS.anchor),
        anchorName,
        ratio: round(pullS.denia / pullS.anchor)
      },
      {
        name: "push_peak_rss",
        unit: "MB",
        denia: round(rss.denia, 1),
        anchor: round(rss.anchor, 1),
        anchorName,
        ratio: round(rss.denia / rss.anchor)
      },
      {
        name: "push_rss_growth",
        unit: "MB",
        denia: round(rss.denia - baselineRss, 1),
        anchor: round(rss.anchor - anchorBaselineRss, 1),
        anchorName,
        ratio: round((rss.denia - baselineRss) / Math.max(rss.anchor - anchorBaselineRss, 0.1))
      }
    )
    notes.push(
      `${imageMb} MB image (busybox + 5 gzip layers of random data), ${runs} run(s) each, medians; push and pull are wall times of skopeo copy (oci layout ↔ registry over loopback)`,
      `server RSS before the first push: Denia daemon (whole control plane) ${round(baselineRss, 1)} MB, docker-registry ${
        round(anchorBaselineRss, 1)
      } MB; push_rss_growth = peak - that; push_peak_rss is the highest VmRSS of the server process sampled every 10 ms during pushes`,
      "ratio = denia / anchor (for times, below 1 means Denia is faster)"
    )
  } finally {
    await daemon.stop()
    await anchor.stop()
    await fs.rm(work, { recursive: true, force: true })
  }
  const result = { area: "registry", machine: `${os.cpus().length} cores, node ${process.version}`, metrics, notes }
  await fs.mkdir(path.join(repoRoot, "bench/results"), { recursive: true })
  await fs.writeFile(path.join(repoRoot, "bench/results/registry.json"), `${JSON.stringify(result, null, 2)}\n`)
  for (const m of metrics) {
    process.stdout.write(`${m.name}: denia ${m.denia} ${m.unit} | ${m.anchorName} ${m.anchor} ${m.unit} | ratio ${m.ratio}\n`)
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:registry failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  process.exit(1)
})
