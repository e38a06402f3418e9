/**
 * bench:oci — Denia's OCI acquisition against skopeo + umoci, same machine,
 * same local docker-registry, same run. Writes bench/results/oci.json.
 *
 *   npm run bench:oci                 # 100 MB image (+ 500 MB RSS run)
 *   OCI_BENCH_SKIP_500=1 npm run bench:oci
 *   OCI_BENCH_RUNS=5 npm run bench:oci
 */
import { Schema } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { startRegistry } from "../../test/support/registry.js"
import { largeImage } from "../test-images/images.js"
import { pushLayout, runTool, writeOciLayout } from "../test-images/layout.js"

interface Metric {
  readonly name: string
  readonly unit: string
  readonly denia: number
  readonly anchor: number
  readonly anchorName: string
  readonly ratio: number
}

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..")
const runs = Math.max(1, Number(process.env["OCI_BENCH_RUNS"] ?? "3"))
const skip500 = process.env["OCI_BENCH_SKIP_500"] === "1"

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}
const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d

/**
 * Runs a command under GNU time: wall ms, CPU seconds (user+sys) and max RSS
 * of the command itself, measured by the kernel's rusage.
 */
const measured = async (
  cmd: string,
  args: ReadonlyArray<string>
): Promise<{ ms: number; cpuS: number; peakRssMb: number; stdout: string }> => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "denia-time-"))
  const out = path.join(dir, "time")
  try {
    const t0 = performance.now()
    const stdout = await new Promise<string>((resolve, reject) => {
      const p = spawn("/usr/bin/time", ["-o", out, "-f", "%U %S %M", cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] })
      let so = ""
      let se = ""
      p.stdout.on("data", (d: Buffer) => (so += d.toString()))
      p.stderr.on("data", (d: Buffer) => (se += d.toString()))
      p.on("error", reject)
      p.on("close", (code) => (code === 0 ? resolve(so) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${se}`))))
    })
    const ms = performance.now() - t0
    const [user, sys, maxKb] = (await fs.readFile(out, "utf8")).trim().split(/\s+/).map(Number)
    return { ms, cpuS: (user ?? 0) + (sys ?? 0), peakRssMb: (maxKb ?? 0) / 1024, stdout }
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}

const bundleWorker = async (outFile: string) => {
  await runTool(path.join(repoRoot, "node_modules/.bin/esbuild"), [
    path.join(repoRoot, "scripts/bench/oci-pull-worker.ts"),
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--packages=external",
    `--outfile=${outFile}`,
    "--log-level=warning"
  ])
}

const WorkerOutput = Schema.Struct({
  coldMs: Schema.Number,
  coldCpuMs: Schema.Number,
  warmCpuMs: Schema.Number,
  reusedMs: Schema.Number,
  warmMs: Schema.Number,
  peakRssMb: Schema.Number,
  baselineRssMb: Schema.Number,
  finalPeakRssMb: Schema.Number,
  digest: Schema.String
})
type WorkerResult = typeof WorkerOutput.Type

/** Cold, reused and warm pulls in one worker process (like a running daemon). */
const deniaPull = async (worker: string, dataDir: string, ref: string, insecure: string): Promise<WorkerResult> => {
  const r = await measured(process.execPath, [worker, dataDir, ref, insecure])
  return Schema.decodeUnknownSync(WorkerOutput)(JSON.parse(r.stdout.trim()))
}

const anchorPull = async (work: string, registryHost: string, repoTag: string) => {
  const layout = path.join(work, "anchor-layout")
  const bundle = path.join(work, "anchor-bundle")
  await fs.rm(layout, { recursive: true, force: true })
  await fs.rm(bundle, { recursive: true, force: true })
  const copy = await measured("skopeo", [
    "--insecure-policy",
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    `docker://${registryHost}/${repoTag}`,
    `oci:${layout}:bench`
  ])
  const unpack = await measured("umoci", ["unpack", "--image", `${layout}:bench`, bundle])
  await fs.rm(layout, { recursive: true, force: true })
  await fs.rm(bundle, { recursive: true, force: true })
  return {
    ms: copy.ms + unpack.ms,
    copyMs: copy.ms,
    unpackMs: unpack.ms,
    cpuS: copy.cpuS + unpack.cpuS,
    peakRssMb: Math.max(copy.peakRssMb, unpack.peakRssMb)
  }
}

const main = async () => {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "denia-bench-oci-"))
  const registry = await startRegistry()
  const worker = path.join(work, "oci-pull-worker.mjs")
  const metrics: Array<Metric> = []
  const notes: Array<string> = []
  try {
    await bundleWorker(worker)
    // esbuild output must resolve node_modules from the repo
    await fs.rename(worker, path.join(repoRoot, "node_modules/.denia-bench-oci-worker.mjs"))
    const workerPath = path.join(repoRoot, "node_modules/.denia-bench-oci-worker.mjs")

    const sizes = skip500 ? [100] : [100, 500]
    for (const mb of sizes) {
      const layout = path.join(work, `layout-${mb}`)
      process.stdout.write(`building ${mb} MB image…\n`)
      await writeOciLayout(layout, largeImage(mb, 5, 8), "bench")
      await pushLayout(layout, "bench", registry.host, `bench/img${mb}:v1`)
      await fs.rm(layout, { recursive: true, force: true })
      const ref = `${registry.host}/bench/img${mb}:v1`

      const results: Array<WorkerResult> = []
      const anchorRuns: Array<Awaited<ReturnType<typeof anchorPull>>> = []
      const n = mb === 100 ? runs : 1
      for (let i = 0; i < n; i++) {
        const dataDir = path.join(work, `data-${mb}-${i}`)
        await fs.mkdir(dataDir)
        const r = await deniaPull(workerPath, dataDir, ref, registry.host)
        results.push(r)
        await fs.rm(dataDir, { recursive: true, force: true })
        const anchor = await anchorPull(work, registry.host, `bench/img${mb}:v1`)
        anchorRuns.push(anchor)
        process.stdout.write(
          `${mb} MB run ${i + 1}: denia cold ${round(r.coldMs / 1000)} s (peak RSS ${round(r.peakRssMb, 1)} MB, baseline ${
            round(
              r.baselineRssMb,
              1
            )
          } MB), warm ${round(r.warmMs / 1000)} s, reused ${round(r.reusedMs / 1000)} s; skopeo ${
            round(
              anchor.copyMs / 1000
            )
          } s + umoci ${round(anchor.unpackMs / 1000)} s (peak RSS ${round(anchor.peakRssMb, 1)} MB); cpu denia cold ${
            round(
              r.coldCpuMs / 1000
            )
          } s, warm ${round(r.warmCpuMs / 1000)} s, anchor ${round(anchor.cpuS)} s\n`
        )
      }
      const anchorS = median(anchorRuns.map((a) => a.ms)) / 1000
      const anchorName = "skopeo copy + umoci unpack"
      if (mb === 100) {
        const coldS = median(results.map((r) => r.coldMs)) / 1000
        const warmS = median(results.map((r) => r.warmMs)) / 1000
        const reusedS = median(results.map((r) => r.reusedMs)) / 1000
        const coldCpu = median(results.map((r) => r.coldCpuMs)) / 1000
        const warmCpu = median(results.map((r) => r.warmCpuMs)) / 1000
        const anchorCpu = median(anchorRuns.map((a) => a.cpuS))
        metrics.push(
          {
            name: "cold_pull_unpack_100mb",
            unit: "s",
            denia: round(coldS),
            anchor: round(anchorS),
            anchorName,
            ratio: round(coldS / anchorS)
          },
          {
            name: "warm_pull_unpack_100mb",
            unit: "s",
            denia: round(warmS),
            anchor: round(anchorS),
            anchorName,
            ratio: round(warmS / anchorS)
          },
          {
            name: "cold_pull_unpack_100mb_cpu",
            unit: "cpu-s",
            denia: round(coldCpu),
            anchor: round(anchorCpu),
            anchorName,
            ratio: round(coldCpu / anchorCpu)
          },
          {
            name: "warm_pull_unpack_100mb_cpu",
            unit: "cpu-s",
            denia: round(warmCpu),
            anchor: round(anchorCpu),
            anchorName,
            ratio: round(warmCpu / anchorCpu)
          },
          {
            name: "warm_pull_bundle_reused_100mb",
            unit: "s",
            denia: round(reusedS),
            anchor: round(anchorS),
            anchorName,
            ratio: round(reusedS / anchorS)
          }
        )
      }
      const rss = Math.max(...results.map((r) => r.peakRssMb))
      const anchorRss = Math.max(...anchorRuns.map((a) => a.peakRssMb))
      metrics.push({
        name: `peak_rss_cold_pull_${mb}mb`,
        unit: "MB",
        denia: round(rss, 1),
        anchor: round(anchorRss, 1),
        anchorName: "max(skopeo, umoci) max RSS",
        ratio: round(rss / anchorRss)
      })
      notes.push(
        `${mb} MB: denia process RSS before the first pull ${
          round(Math.max(...results.map((r) => r.baselineRssMb)), 1)
        } MB, peak after all three pulls ${
          round(
            Math.max(...results.map((r) => r.finalPeakRssMb)),
            1
          )
        } MB; ${n} run(s), medians`
      )
    }
    await fs.rm(workerPath, { force: true })
  } finally {
    await registry.stop()
    await fs.rm(work, { recursive: true, force: true })
  }
  const result = {
    area: "oci",
    machine: `${os.cpus().length} cores, node ${process.version}`,
    metrics,
    notes: [
      ...notes,
      "ratio = denia / anchor (below 1: Denia is faster / smaller)",
      "Denia times are measured inside the pulling process; anchor times include process start"
    ]
  }
  await fs.mkdir(path.join(repoRoot, "bench/results"), { recursive: true })
  await fs.writeFile(path.join(repoRoot, "bench/results/oci.json"), `${JSON.stringify(result, null, 2)}\n`)
  for (const m of metrics) {
    process.stdout.write(`${m.name}: denia ${m.denia} ${m.unit} | ${m.anchorName} ${m.anchor} ${m.unit} | ratio ${m.ratio}\n`)
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:oci failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  process.exit(1)
})
