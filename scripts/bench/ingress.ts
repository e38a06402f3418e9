/**
 * bench:ingress — Denia's HTTP proxy against nginx, HAProxy and Caddy (Debian
 * packages), each proxying to the same Unix-socket backend (nginx returning a
 * small body), driven by wrk (1 thread, 50 connections) in the same run.
 * Every proxy runs single-threaded and pinned to the same core; wrk and the
 * backend share the other core. Reports rps, p99 latency and CPU time per
 * request (from /proc) and writes bench/results/ingress.json. "denia-agent"
 * is the same proxy with node:http agents upstream instead of undici pools.
 *
 *   scripts/bench/install-ingress.sh     # wrk nginx-light haproxy caddy
 *   npm run bench:ingress
 *   INGRESS_BENCH_SECONDS=20 INGRESS_BENCH_ROUNDS=3 npm run bench:ingress
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..")
const seconds = Math.max(3, Number(process.env["INGRESS_BENCH_SECONDS"] ?? "10"))
const rounds = Math.max(1, Number(process.env["INGRESS_BENCH_ROUNDS"] ?? "2"))
const connections = 50
const HOST = "bench.p.localhost"
const cores = os.cpus().length
const proxyCpu = cores > 1 ? "1" : "0"
const loadCpu = "0"
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100

const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d
const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

const require = (tool: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "pipe" })
  } catch {
    console.error(`bench:ingress needs ${tool}; run scripts/bench/install-ingress.sh`)
    process.exit(2)
  }
}
for (const t of ["wrk", "nginx", "haproxy", "caddy", "taskset"]) require(t)

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once("error", reject)
    s.listen({ host: "127.0.0.1", port: 0 }, () => {
      const a = s.address()
      const p = typeof a === "object" && a !== null ? a.port : 0
      s.close(() => resolve(p))
    })
  })

const waitPort = async (port: number, child: ChildProcess, name: string): Promise<void> => {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.destroy()
        resolve(true)
      })
      s.on("error", () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${name} did not listen on ${port}`)
}

const waitSocket = async (file: string): Promise<void> => {
  for (let i = 0; i < 200 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 50))
  if (!fs.existsSync(file)) throw new Error(`backend socket ${file} did not appear`)
}

const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

/** utime+stime of a process in ms. */
const cpuMs = (pid: number): number => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK
}

const toMs = (v: string): number => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim())
  if (m === null) return NaN
  const n = Number(m[1])
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n
}

interface WrkResult {
  readonly rps: number
  readonly p99Ms: number
  readonly requests: number
  readonly errors: number
}

const wrk = (port: number, secs: number): WrkResult => {
  const out = execFileSync(
    "taskset",
    ["-c", loadCpu, "wrk", "-t1", `-c${connections}`, `-d${secs}s`, "--latency", "-H", `Host: ${HOST}`, `http://127.0.0.1:${port}/`],
    { encoding: "utf8" }
  )
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? "0")
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? "")
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? "0")
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? "0")
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const errors = non2xx + (sockErr === null ? 0 : sockErr.slice(1).reduce((a, b) => a + Number(b), 0))
  return { rps, p99Ms: p99, requests, errors }
}

interface Proxy {
  readonly name: string
  readonly version: string
  readonly start: (port: number) => Promise<{ child: ChildProcess; pid: number }>
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-bench-ingress-"))
const backendSock = path.join(dir, "backend.sock")

const nginxMain = (name: string, body: string) => `
daemon off;
master_process off;
worker_processes 1;
user root;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/${name}-body;
  proxy_temp_path ${dir}/${name}-proxy;
  fastcgi_temp_path ${dir}/${name}-fastcgi;
  uwsgi_temp_path ${dir}/${name}-uwsgi;
  scgi_temp_path ${dir}/${name}-scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
${body}
}
`

const startNginx = (name: string, conf: string, cpu: string): ChildProcess => {
  const file = path.join(dir, `${name}.conf`)
  fs.writeFileSync(file, conf)
  return spawn("taskset", ["-c", cpu, "nginx", "-p", dir, "-c", file, "-e", `${dir}/${name}-error.log`], { stdio: "ignore" })
}

const version = (cmd: string, args: ReadonlyArray<string>, re: RegExp): string => {
  try {
    const out = execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
    return re.exec(out)?.[1] ?? "?"
  } catch (e) {
    const err = e as { stderr?: string }
    return re.exec(err.stderr ?? "")?.[1] ?? "?"
  }
}
const nginxVersion = execFileSync("sh", ["-c", "nginx -v 2>&1"], { encoding: "utf8" }).match(/nginx\/([\d.]+)/)?.[1] ?? "?"

const main = async () => {
  // the shared backend
  const backend = startNginx(
    "backend",
    nginxMain("backend", `  server { listen unix:${backendSock}; location / { return 200 "hello from the backend\\n"; } }`),
    loadCpu
  )
  await waitSocket(backendSock)

  // Denia's proxy, bundled once so the measured process runs plain JS
  // (packages stay external and resolve from the repo's node_modules)
  const bundle = path.join(repoRoot, "node_modules/.cache/denia-bench/ingress-worker.mjs")
  execFileSync(path.join(repoRoot, "node_modules/.bin/esbuild"), [
    path.join(repoRoot, "scripts/bench/ingress-denia.ts"),
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node20",
    "--packages=external",
    `--outfile=${bundle}`,
    "--log-level=warning"
  ])

  const proxies: ReadonlyArray<Proxy> = [
    {
      name: "denia",
      version: `node ${process.versions.node}, undici pools`,
      start: async (port) => {
        const child = spawn("taskset", ["-c", proxyCpu, process.execPath, bundle, String(port), backendSock], {
          stdio: ["ignore", "pipe", "inherit"]
        })
        await waitPort(port, child, "denia")
        return { child, pid: child.pid ?? 0 }
      }
    },
    {
      name: "denia-agent",
      version: `node ${process.versions.node}, node:http agents`,
      start: async (port) => {
        const child = spawn("taskset", ["-c", proxyCpu, process.execPath, bundle, String(port), backendSock, "agent"], {
          stdio: ["ignore", "pipe", "inherit"]
        })
        await waitPort(port, child, "denia-agent")
        return { child, pid: child.pid ?? 0 }
      }
    },
    {
      name: "nginx",
      version: nginxVersion,
      start: async (port) => {
        const child = startNginx(
          `proxy-${port}`,
          nginxMain(
            `proxy-${port}`,
            `  upstream be { server unix:${backendSock}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }
  }`
          ),
          proxyCpu
        )
        await waitPort(port, child, "nginx")
        return { child, pid: child.pid ?? 0 }
      }
    },
    {
      name: "haproxy",
      version: version("haproxy", ["-v"], /HAProxy version ([\d.]+)/),
      start: async (port) => {
        const cfg = path.join(dir, `haproxy-${port}.cfg`)
        fs.writeFileSync(
          cfg,
          `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server s1 ${backendSock}
`
        )
        const child = spawn("taskset", ["-c", proxyCpu, "haproxy", "-db", "-f", cfg], { stdio: "ignore" })
        await waitPort(port, child, "haproxy")
        return { child, pid: child.pid ?? 0 }
      }
    },
    {
      name: "caddy",
      version: version("caddy", ["version"], /v?([\d.]+)/),
      start: async (port) => {
        const file = path.join(dir, `Caddyfile-${port}`)
        fs.writeFileSync(
          file,
          `{
  admin off
  auto_https off
}
http://${HOST}:${port} {
  bind 127.0.0.1
  reverse_proxy unix/${backendSock}
}
`
        )
        const home = path.join(dir, "caddy-home")
        fs.mkdirSync(home, { recursive: true })
        const child = spawn("taskset", ["-c", proxyCpu, "caddy", "run", "--config", file, "--adapter", "caddyfile"], {
          stdio: "ignore",
          env: { ...process.env, GOMAXPROCS: "1", HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home }
        })
        await waitPort(port, child, "caddy")
        return { child, pid: child.pid ?? 0 }
      }
    }
  ]

  const samples = new Map<string, Array<{ rps: number; p99Ms: number; cpuUsPerReq: number; errors: number }>>()
  try {
    for (let r = 0; r < rounds; r++) {
      for (const p of proxies) {
        const port = await freePort()
        const { child, pid } = await p.start(port)
        try {
          wrk(port, 2) // warm-up: pools, JIT
          const before = cpuMs(pid)
          const res = wrk(port, seconds)
          const used = cpuMs(pid) - before
          const cpuUsPerReq = res.requests > 0 ? (used * 1000) / res.requests : NaN
          const list = samples.get(p.name) ?? []
          list.push({ rps: res.rps, p99Ms: res.p99Ms, cpuUsPerReq, errors: res.errors })
          samples.set(p.name, list)
          console.log(
            `round ${r + 1} ${p.name.padEnd(8)} ${round(res.rps, 0).toString().padStart(8)} req/s  p99 ${round(res.p99Ms, 2)} ms  cpu ${
              round(cpuUsPerReq, 1)
            } µs/req  errors ${res.errors}`
          )
        } finally {
          await stop(child)
        }
      }
    }
  } finally {
    await stop(backend)
  }

  const summary = (name: string) => {
    const s = samples.get(name) ?? []
    return {
      rps: median(s.map((x) => x.rps)),
      p99Ms: median(s.map((x) => x.p99Ms)),
      cpuUsPerReq: median(s.map((x) => x.cpuUsPerReq)),
      errors: s.reduce((a, x) => a + x.errors, 0)
    }
  }
  const denia = summary("denia")
  const metrics: Array<{ name: string; unit: string; denia: number; anchor: number; anchorName: string; ratio: number }> = []
  for (const p of proxies.filter((x) => !x.name.startsWith("denia"))) {
    const a = summary(p.name)
    const anchorName = `${p.name} ${p.version}`
    metrics.push({
      name: p.name === "caddy" ? "rps" : `rps_vs_${p.name}`,
      unit: "req/s",
      denia: round(denia.rps, 0),
      anchor: round(a.rps, 0),
      anchorName,
      ratio: round(denia.rps / a.rps)
    })
    metrics.push({
      name: p.name === "caddy" ? "p99" : `p99_vs_${p.name}`,
      unit: "ms",
      denia: round(denia.p99Ms, 3),
      anchor: round(a.p99Ms, 3),
      anchorName,
      ratio: round(denia.p99Ms / a.p99Ms)
    })
    metrics.push({
      name: `cpu_per_request_vs_${p.name}`,
      unit: "µs",
      denia: round(denia.cpuUsPerReq, 1),
      anchor: round(a.cpuUsPerReq, 1),
      anchorName,
      ratio: round(denia.cpuUsPerReq / a.cpuUsPerReq)
    })
  }
  const result = {
    area: "ingress",
    machine: `${cores} cores, node ${process.versions.node}`,
    setup:
      `wrk -t1 -c${connections} -d${seconds}s, ${rounds} round(s), median; each proxy single-threaded on cpu ${proxyCpu}, wrk + backend nginx on cpu ${loadCpu}; backend: nginx on a Unix socket`,
    errors: Object.fromEntries(proxies.map((p) => [p.name, summary(p.name).errors])),
    /** The same data path with node:http agents instead of undici pools (see ADR 0501). */
    variants: { "denia-agent": summary("denia-agent") },
    metrics
  }
  fs.mkdirSync(path.join(repoRoot, "bench/results"), { recursive: true })
  fs.writeFileSync(path.join(repoRoot, "bench/results/ingress.json"), `${JSON.stringify(result, null, 2)}\n`)
  console.log("")
  for (const m of metrics) {
    console.log(
      `${m.name.padEnd(26)} denia ${String(m.denia).padStart(9)} ${m.unit.padEnd(6)} ${m.anchorName.padEnd(16)} ${
        String(m.anchor).padStart(9)
      }  ratio ${m.ratio}`
    )
  }
  console.log(`\nwrote bench/results/ingress.json`)
}

main()
  .catch((e: unknown) => {
    console.error(e)
    process.exitCode = 1
  })
  .finally(() => fs.rmSync(dir, { recursive: true, force: true }))
