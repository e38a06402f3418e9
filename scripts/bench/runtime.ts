/**
 * npm run bench:runtime — runtime figures against an anchor measured in the same run:
 *  - start-to-exec: LinuxRuntime.start of a short command until the helper
 *    reports the workload exec'd, vs `unshare -fmpiun --mount-proc chroot
 *    <rootfs> /bin/echo` from spawn to exit (median of 50 each)
 *  - start-to-ready: busybox httpd until an HTTP status line comes back over
 *    the replica socket, vs the same httpd under `unshare -fmpiu chroot` on a
 *    host loopback port until a status line comes back over TCP (median of 50)
 *  - helper RSS per idle replica (launcher + pid 1), vs the RSS of the waiting
 *    `unshare -f` parent of an idle anchor httpd (median over 10)
 * Writes bench/results/runtime.json. Needs root.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { resolveHelperPath } from "../../src/runtime/helperPath.js"
import { processTree, rssBytes } from "../../src/runtime/procfs.js"
import { Runtime } from "../../src/runtime/Runtime.js"
import type { ReplicaSpec } from "../../src/runtime/types.js"
import { buildBusyboxRootfs } from "../../test/support/busybox-rootfs.js"
import { freePort, probeTcp } from "./support.js"

const RUNS = 50
const IDLE_REPLICAS = 10

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d
const nowMs = () => Number(process.hrtime.bigint()) / 1e6

const runToExit = (cmd: string, args: ReadonlyArray<string>) =>
  new Promise<number>((resolve, reject) => {
    const t0 = nowMs()
    const child = spawn(cmd, args, { stdio: "ignore" })
    child.on("error", reject)
    child.on("exit", (code) => (code === 0 ? resolve(nowMs() - t0) : reject(new Error(`${cmd} exited ${code}`))))
  })

const anchorExec = (rootfs: string) => runToExit("unshare", ["-fmpiun", "--mount-proc", "chroot", rootfs, "/bin/echo", "hi"])

const anchorHttpd = async (rootfs: string, keep: boolean) => {
  const port = await freePort()
  const t0 = nowMs()
  const child = spawn(
    "unshare",
    ["-fmpiu", "--mount-proc", "chroot", rootfs, "/bin/httpd", "-f", "-p", `127.0.0.1:${port}`, "-h", "/www"],
    {
      stdio: "ignore",
      detached: true
    }
  )
  let delay = 2
  for (let i = 0; i < 500; i++) {
    if (await probeTcp(port)) break
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 50)
  }
  const ms = nowMs() - t0
  const stop = () =>
    new Promise<void>((resolve) => {
      child.on("exit", () => resolve())
      try {
        process.kill(-(child.pid ?? 0), "SIGKILL")
      } catch {
        resolve()
      }
    })
  if (!keep) await stop()
  return { ms, pid: child.pid ?? 0, stop }
}

const main = Effect.gen(function*() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-bench-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
  const rootfs = yield* Effect.promise(() => buildBusyboxRootfs(path.join(dir, "bundle"), { owner: 100000 }))
  const layer = Runtime.layer({
    dataDir: path.join(dir, "data"),
    usernsBase: 100000,
    usernsSize: 65536,
    cgroupRoot: "/sys/fs/cgroup/denia-bench",
    helperPath: resolveHelperPath(),
    stopGraceMs: 2000,
    logMaxBytes: 1 << 20
  })
  return yield* Effect.gen(function*() {
    const rt = yield* Runtime
    const spec = (replica: string, extra: Partial<ReplicaSpec>): ReplicaSpec => ({
      service: "bench",
      deployment: "d1",
      replica,
      rootfs,
      argv: ["/bin/echo", "hi"],
      env: { PATH: "/bin" },
      ...extra
    })

    // warm-up (page cache, first-run costs) for both sides
    for (let i = 0; i < 3; i++) {
      yield* Effect.promise(() => anchorExec(rootfs))
      const r = yield* Effect.scoped(rt.start(spec(`w${i}`, { readiness: null })))
      void r
    }

    const execDenia: Array<number> = []
    const execAnchor: Array<number> = []
    for (let i = 0; i < RUNS; i++) {
      execAnchor.push(yield* Effect.promise(() => anchorExec(rootfs)))
      const t0 = nowMs()
      yield* Effect.scoped(
        rt.start(spec(`e${i}`, { readiness: null })).pipe(Effect.tap(() => Effect.sync(() => execDenia.push(nowMs() - t0))))
      )
    }

    const readyDenia: Array<number> = []
    const readyAnchor: Array<number> = []
    const httpdArgv = ["/bin/httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www"]
    for (let i = 0; i < RUNS; i++) {
      readyAnchor.push((yield* Effect.promise(() => anchorHttpd(rootfs, false))).ms)
      const t0 = nowMs()
      yield* Effect.scoped(
        rt.start(spec(`h${i}`, { argv: httpdArgv, port: 8080, readiness: { timeoutMs: 10_000 } })).pipe(
          Effect.tap(() => Effect.sync(() => readyDenia.push(nowMs() - t0)))
        )
      )
    }

    // idle replicas: RSS of the helper processes (launcher + pid 1) per replica
    const rssDenia: Array<number> = []
    const rssAnchor: Array<number> = []
    yield* Effect.scoped(
      Effect.gen(function*() {
        const replicas = yield* Effect.forEach(
          Array.from({ length: IDLE_REPLICAS }, (_, i) => i),
          (i) => rt.start(spec(`idle${i}`, { argv: httpdArgv, port: 8080 }))
        )
        yield* Effect.sleep("300 millis")
        for (const r of replicas) {
          const tree = yield* processTree(r.pid)
          const helperPids = [r.pid, ...tree.filter((p) => p.ppid === r.pid).map((p) => p.pid)]
          const rss = yield* Effect.forEach(helperPids, rssBytes)
          rssDenia.push(rss.reduce((a, b) => a + b, 0))
        }
      })
    )
    for (let i = 0; i < IDLE_REPLICAS; i++) {
      const a = yield* Effect.promise(() => anchorHttpd(rootfs, true))
      yield* Effect.sleep("100 millis")
      rssAnchor.push(yield* rssBytes(a.pid))
      yield* Effect.promise(() => a.stop())
    }

    const status = yield* rt.status
    const mib = (b: number) => round(b / (1024 * 1024), 3)
    const metrics = [
      {
        name: "start-to-exec",
        unit: "ms",
        denia: round(median(execDenia)),
        anchor: round(median(execAnchor)),
        anchorName: "unshare -fmpiun --mount-proc chroot <rootfs> /bin/echo",
        ratio: round(median(execDenia) / median(execAnchor))
      },
      {
        name: "start-to-ready",
        unit: "ms",
        denia: round(median(readyDenia)),
        anchor: round(median(readyAnchor)),
        anchorName: "busybox httpd under unshare -fmpiu chroot, HTTP over host TCP",
        ratio: round(median(readyDenia) / median(readyAnchor))
      },
      {
        name: "helper-rss-per-idle-replica",
        unit: "MiB",
        denia: mib(median(rssDenia)),
        anchor: mib(median(rssAnchor)),
        anchorName: "waiting unshare -f parent of an idle chroot httpd",
        ratio: round(median(rssDenia) / median(rssAnchor))
      }
    ]
    const result = {
      area: "runtime",
      machine: `${os.cpus().length} cores, node ${process.version}`,
      notes: `runs=${RUNS}, idle replicas=${IDLE_REPLICAS}, cgroup mode=${status.cgroupMode}`,
      metrics
    }
    fs.mkdirSync("bench/results", { recursive: true })
    fs.writeFileSync("bench/results/runtime.json", `${JSON.stringify(result, null, 2)}\n`)
    for (const m of metrics) {
      console.log(
        `${m.name.padEnd(28)} denia ${String(m.denia).padStart(8)} ${m.unit}   anchor ${
          String(m.anchor).padStart(8)
        } ${m.unit}   ratio ${m.ratio}   (${m.anchorName})`
      )
    }
    console.log("wrote bench/results/runtime.json")
  }).pipe(Effect.provide(layer))
})

if (process.getuid?.() !== 0) {
  console.log("bench:runtime needs root (namespaces, overlay mounts); nothing measured")
} else {
  Effect.runPromise(Effect.scoped(main)).catch((e: unknown) => {
    console.error(e)
    process.exitCode = 1
  })
}
