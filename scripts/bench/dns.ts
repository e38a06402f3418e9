/**
 * bench:dns — queries/s and latency (p50, p99) for a `.internal` name
 * against Denia's embedded DNS server and dnsmasq (Debian `dnsmasq-base`,
 * `--address=/<name>/<ip>`) in the same run. Each server runs in its own
 * process pinned to one core; the load generator (this process, UDP, a
 * fixed number of queries outstanding) runs on the other. Rounds alternate
 * the servers; the median round is reported. Writes bench/results/dns.json.
 *
 *   npm run bench:dns
 *   DNS_BENCH_SECONDS=10 DNS_BENCH_ROUNDS=3 DNS_BENCH_CONCURRENCY=64 npm run bench:dns
 *
 * `benchDns()` is exported for `bench:network`.
 */
import dnsPacket from "dns-packet"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as dgram from "node:dgram"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const NAME = "web.shop.internal"
const IP = "10.89.0.5"
const DNSMASQ = "/usr/sbin/dnsmasq"

export interface DnsBenchFigures {
  readonly qps: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Queries re-sent after 1 s without an answer. */
  readonly lost: number
}

export interface DnsBenchResult {
  readonly name: string
  readonly seconds: number
  readonly concurrency: number
  readonly rounds: number
  readonly denia: DnsBenchFigures
  readonly dnsmasq: DnsBenchFigures
  /** denia qps / dnsmasq qps. */
  readonly qpsRatio: number
  /** denia p99 / dnsmasq p99 (lower is better for Denia). */
  readonly p99Ratio: number
}

export interface DnsBenchOptions {
  readonly seconds?: number
  readonly rounds?: number
  readonly concurrency?: number
}

const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d

const percentile = (sorted: Float64Array, p: number): number =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0)

const freeUdpPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4")
    s.once("error", reject)
    s.bind(0, "127.0.0.1", () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })

const queryBuffer = (): Buffer =>
  dnsPacket.encode({ type: "query", id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: NAME, class: "IN" }] })

/** One query and its answer's addresses (readiness and correctness check). */
const askOnce = (port: number, timeoutMs: number): Promise<ReadonlyArray<string> | null> =>
  new Promise((resolve) => {
    const socket = dgram.createSocket("udp4")
    const timer = setTimeout(() => finish(null), timeoutMs)
    const finish = (v: ReadonlyArray<string> | null) => {
      clearTimeout(timer)
      socket.close()
      resolve(v)
    }
    socket.on("error", () => finish(null))
    socket.on("message", (msg) => {
      try {
        finish((dnsPacket.decode(msg).answers ?? []).flatMap((a) => (a.type === "A" ? [a.data] : [])))
      } catch {
        finish(null)
      }
    })
    socket.send(queryBuffer(), port, "127.0.0.1")
  })

const waitAnswering = async (port: number, child: ChildProcess, label: string): Promise<void> => {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`${label} exited with ${child.exitCode}`)
    const answer = await askOnce(port, 100)
    if (answer !== null) {
      if (answer.join(",") !== IP) throw new Error(`${label} answered ${answer.join(",")} instead of ${IP}`)
      return
    }
  }
  throw new Error(`${label} did not answer on 127.0.0.1:${port}`)
}

/** Keeps `concurrency` queries outstanding for `seconds` after a 1 s warm-up. */
const load = (port: number, seconds: number, concurrency: number): Promise<DnsBenchFigures> =>
  new Promise((resolve) => {
    const socket = dgram.createSocket("udp4")
    const template = queryBuffer()
    const sentAt = new Float64Array(65536).fill(-1)
    const latencies: Array<number> = []
    let nextId = 0
    let measuring = false
    let lost = 0
    let answered = 0
    const send = () => {
      const id = nextId
      nextId = (nextId + 1) & 0xffff
      const q = Buffer.from(template)
      q.writeUInt16BE(id, 0)
      sentAt[id] = performance.now()
      socket.send(q, port, "127.0.0.1")
    }
    socket.on("message", (msg) => {
      if (msg.length < 2) return
      const id = msg.readUInt16BE(0)
      const t0 = sentAt[id] ?? -1
      if (t0 < 0) return
      sentAt[id] = -1
      if (measuring) {
        latencies.push(performance.now() - t0)
        answered++
      }
      send()
    })
    // Lost datagrams: re-send after 1 s so the window stays full.
    const sweep = setInterval(() => {
      const now = performance.now()
      for (let id = 0; id < 65536; id++) {
        const t0 = sentAt[id] ?? -1
        if (t0 >= 0 && now - t0 > 1000) {
          sentAt[id] = -1
          lost++
          send()
        }
      }
    }, 250)
    socket.bind(0, "127.0.0.1", () => {
      for (let i = 0; i < concurrency; i++) send()
      setTimeout(() => {
        measuring = true
        lost = 0
        const start = performance.now()
        setTimeout(() => {
          measuring = false
          const elapsed = (performance.now() - start) / 1000
          clearInterval(sweep)
          socket.close()
          const sorted = Float64Array.from(latencies).sort()
          resolve({
            qps: round(answered / elapsed, 0),
            p50Ms: round(percentile(sorted, 0.5)),
            p99Ms: round(percentile(sorted, 0.99)),
            lost
          })
        }, seconds * 1000)
      }, 1000)
    })
  })

const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

export const benchDns = async (options: DnsBenchOptions = {}): Promise<DnsBenchResult> => {
  const seconds = Math.max(2, options.seconds ?? 5)
  const rounds = Math.max(1, options.rounds ?? 2)
  const concurrency = Math.max(1, options.concurrency ?? 32)
  if (!fs.existsSync(DNSMASQ)) throw new Error(`bench:dns needs ${DNSMASQ} (Debian dnsmasq-base)`)
  const cores = os.cpus().length
  const serverCpu = cores > 1 ? "1" : "0"
  const loadCpu = "0"
  try {
    execFileSync("taskset", ["-pc", loadCpu, String(process.pid)], { stdio: "ignore" })
  } catch {
    // no taskset: unpinned
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "denia-bench-dns-"))
  // Denia's server, bundled once so the measured process runs plain JS.
  const bundle = path.join(repoRoot, "node_modules/.cache/denia-bench/dns-worker.mjs")
  execFileSync(path.join(repoRoot, "node_modules/.bin/esbuild"), [
    path.join(repoRoot, "scripts/bench/dns-denia.ts"),
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node20",
    "--packages=external",
    `--outfile=${bundle}`,
    "--log-level=warning"
  ])
  const servers = {
    denia: (port: number) =>
      spawn("taskset", ["-c", serverCpu, process.execPath, bundle, String(port), NAME, IP], { stdio: ["ignore", "ignore", "inherit"] }),
    dnsmasq: (port: number) =>
      spawn(
        "taskset",
        [
          "-c",
          serverCpu,
          DNSMASQ,
          "--keep-in-foreground",
          "--conf-file=/dev/null",
          "--no-resolv",
          "--no-hosts",
          "--bind-interfaces",
          "--listen-address=127.0.0.1",
          `--port=${port}`,
          `--pid-file=${path.join(tmp, "dnsmasq.pid")}`,
          "--user=root",
          "--local-ttl=5",
          `--address=/${NAME}/${IP}`
        ],
        { stdio: ["ignore", "ignore", "inherit"] }
      )
  } as const
  const results: Record<keyof typeof servers, Array<DnsBenchFigures>> = { denia: [], dnsmasq: [] }
  try {
    for (let r = 0; r < rounds; r++) {
      const order: ReadonlyArray<keyof typeof servers> = r % 2 === 0 ? ["denia", "dnsmasq"] : ["dnsmasq", "denia"]
      for (const label of order) {
        const port = await freeUdpPort()
        const child = servers[label](port)
        try {
          await waitAnswering(port, child, label)
          results[label].push(await load(port, seconds, concurrency))
        } finally {
          await stop(child)
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
  const median = (xs: ReadonlyArray<DnsBenchFigures>): DnsBenchFigures => {
    const s = [...xs].sort((a, b) => a.qps - b.qps)
    return s[Math.floor((s.length - 1) / 2)] ?? { qps: 0, p50Ms: 0, p99Ms: 0, lost: 0 }
  }
  const denia = median(results.denia)
  const dnsmasq = median(results.dnsmasq)
  return {
    name: NAME,
    seconds,
    concurrency,
    rounds,
    denia,
    dnsmasq,
    qpsRatio: round(dnsmasq.qps === 0 ? 0 : denia.qps / dnsmasq.qps, 2),
    p99Ratio: round(dnsmasq.p99Ms === 0 ? 0 : denia.p99Ms / dnsmasq.p99Ms, 2)
  }
}

/** The lines `bench:dns` (and `bench:network`) print. */
export const formatDnsBench = (r: DnsBenchResult): ReadonlyArray<string> => [
  `dns  ${r.name} A, UDP, ${r.concurrency} outstanding, ${r.seconds}s × ${r.rounds} rounds (median round)`,
  `dns  denia    ${r.denia.qps} q/s  p50 ${r.denia.p50Ms} ms  p99 ${r.denia.p99Ms} ms  lost ${r.denia.lost}`,
  `dns  dnsmasq  ${r.dnsmasq.qps} q/s  p50 ${r.dnsmasq.p50Ms} ms  p99 ${r.dnsmasq.p99Ms} ms  lost ${r.dnsmasq.lost}`,
  `dns  ratio    denia/dnsmasq q/s ${r.qpsRatio}×  p99 ${r.p99Ratio}×`
]

// vite-node leaves the script's path out of argv: `npm run bench:dns` passes a flag instead.
if (process.argv.includes("--bench-dns-main")) {
  const result = await benchDns({
    seconds: Number(process.env["DNS_BENCH_SECONDS"] ?? "5"),
    rounds: Number(process.env["DNS_BENCH_ROUNDS"] ?? "2"),
    concurrency: Number(process.env["DNS_BENCH_CONCURRENCY"] ?? "32")
  })
  for (const line of formatDnsBench(result)) console.log(line)
  const out = path.join(repoRoot, "bench/results/dns.json")
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n")
}
