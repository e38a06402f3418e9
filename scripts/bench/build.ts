/**
 * bench:build — builds from source (issue 19), one run of each, printed as lines and written to
 * bench/results/build.json. Needs root, buildah and zstd.
 *
 * 1. push→healthy of the small Python app (`denia push --create`, CLI wall time, cold project cache)
 *    against the anchor: `buildah build` + `buildah push` of the same context alone, with its own cold
 *    storage, into the same hosted registry. Goal: Denia's overhead ≤ 2 s. BENCH_BUILD_COLD_ROUNDS (3)
 *    rounds, each on a quiet host and, after the first, on a node made cold again (a new service, no
 *    build storage, chain snapshot or cached blob); the figure is the median round's overhead.
 * 2. cached rebuild after a one-line source change (`denia push`, dependency layer reused). Goal ≤ 3 s.
 * 2b. a running service's request latency p50/p99 idle vs during a build with a `yes > /dev/null` step
 *    (buildBusy.ts), and the ratio; printed, no goal.
 * 3. upload of a 200 MB working tree (buildUpload.ts; `denia push --no-follow`: pack, stream, server-side
 *    checks; to this daemon on loopback a plain tar, ADR 0820) against `tar | zstd | curl --data-binary @-`
 *    to a local HTTP server that discards the body. Goal: throughput ≥ 0.8× the anchor. Also the
 *    compressed push (`DENIA_PUSH_COMPRESS=1`, what a daemon on another host gets), and the server side
 *    alone: the same tree packed once (tar.zst and plain tar), streamed by curl to the upload endpoint and
 *    to the discarding server. The server-side pairs run first; then BENCH_BUILD_UPLOAD_ROUNDS (5) rounds
 *    of anchor, push, compressed push, each on a quiet host (a sync, then support.ts `quiesce`) and each
 *    push after the deployment it queued ended; the ratios are printed per round, the figure is their
 *    median. It runs before 1., on a service of its own (`upload`) while the base is not pushed yet, so
 *    the build each push queues ends at its `FROM`: the figure is the upload, not the aftermath of 200 MB
 *    builds (after 1.–2b. the anchor's rounds slowed too, ADR 0820).
 *
 * BENCH_BUILD_PHASES=1 also prints the deployment logs of 1. and 2. as seconds since the CLI started
 * (where the time goes: upload, queue, build, push, pull/unpack, start, health); BENCH_BUILD_ONLY_PUSH=1
 * runs only 1. and 2.; BENCH_BUILD_ONLY_UPLOAD=1 runs only 3.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { startCliFixture } from "../../test/integration/cli/support.js"
import { ADMIN_TOKEN, cliEntry } from "../../test/support/daemon.js"
import { pushPythonBase, pythonAppFiles } from "../../test/support/uploads.js"
import { measureBusyBuildLatency, printBusyBuildLatency } from "./buildBusy.js"
import { median, round, run } from "./buildRun.js"
import { measureUpload, printUpload, type UploadFigures } from "./buildUpload.js"
import { quiesce } from "./support.js"

/** Lazily unmounts every mount below `dir`, deepest first (buildah's storages leave overlay mounts). */
const unmountBelow = (dir: string) =>
  execFileSync("sh", ["-c", `grep -o ' ${dir}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l || true`])

/**
 * Makes the node cold for the next push of the base-derived app: no project build storage (its overlay
 * mounts unmounted first), no chain snapshot, no cached blob. Between rounds, while nothing builds or pulls.
 */
const makeCold = (dataDir: string) => {
  const cache = path.join(dataDir, "builds", "cache")
  unmountBelow(cache)
  for (const dir of [cache, path.join(dataDir, "oci-cache", "chains"), path.join(dataDir, "oci-cache", "blobs", "sha256")]) {
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) fs.rmSync(path.join(dir, name), { recursive: true, force: true })
  }
}

/** The newest deployment log of the daemon as (seconds since `since` (epoch ms), phase and message) entries. */
const deploymentLog = (logsDir: string, since: number): ReadonlyArray<{ at: number; line: string }> => {
  const dir = path.join(logsDir, "deployments")
  // deployment ids are UUIDv7: the greatest name is the newest
  const newest = fs.readdirSync(dir).sort().map((f) => path.join(dir, f)).at(-1)
  if (newest === undefined) return []
  return fs.readFileSync(newest, "utf8").split("\n").filter((l) => l !== "").map((l) => {
    const [at = "", ...rest] = l.split(" ")
    return { at: (Date.parse(at) - since) / 1000, line: rest.join(" ") }
  })
}

/**
 * Where the time of one push went, from its deployment log: before the build, build + push, push → healthy,
 * and from `healthy` to the CLI's exit (`cliSeconds`, its wall time).
 */
const split = (log: ReadonlyArray<{ at: number; line: string }>, cliSeconds: number) => {
  const at = (re: RegExp) => log.find((e) => re.test(e.line))?.at ?? NaN
  const building = at(/^BUILDING building /)
  const pushed = at(/^BUILDING built and pushed /)
  const healthy = at(/^HEALTHY /)
  return {
    before_build_s: round(building),
    build_push_s: round(pushed - building),
    pushed_to_healthy_s: round(healthy - pushed),
    healthy_to_exit_s: round(cliSeconds - healthy)
  }
}

const main = async () => {
  if (process.getuid?.() !== 0) throw new Error("bench:build needs root")
  const onlyUpload = process.env["BENCH_BUILD_ONLY_UPLOAD"] === "1"
  const onlyPush = process.env["BENCH_BUILD_ONLY_PUSH"] === "1"
  let built = false
  const f = await startCliFixture()
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "denia-bench-build-"))
  const anchorRoot = fs.mkdtempSync(path.join(os.tmpdir(), "denia-bench-anchor-"))
  const results: Record<string, number> = {}
  let upload: UploadFigures | undefined
  // each timed run starts without the dirty pages of what ran before it (writeback would slow it) and
  // on a quiet host: the build a push queued, the replica it replaced, the base prewarm are over
  let loud = 0
  let coldRoundsText = ""
  const quiet = async () => {
    execFileSync("sync")
    if (!(await quiesce())) loud++
  }
  try {
    const address = f.d.config.values.bindAddr
    const write = (dir: string, files: Record<string, string>) => {
      for (const [rel, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
        fs.writeFileSync(path.join(dir, rel), content)
      }
    }
    write(work, pythonAppFiles(address, "bench v1"))
    execFileSync("git", ["init", "-q"], { cwd: work })
    const cli = (args: ReadonlyArray<string>) => run(process.execPath, [cliEntry, ...args], { cwd: work, env: f.env })
    await cli(["init", "--project", "default", "--service", "app", "--port", "8080", "--health-path", "/"])
    const manifestFile = path.join(work, ".denia")
    const manifest = fs.readFileSync(manifestFile, "utf8")

    /** 1., 2. and 2b.; false when BENCH_BUILD_ONLY_PUSH stops after 2. */
    const pushAndBuild = async (): Promise<boolean> => {
      const base = await f.cli(["services", "create", "base", "--source", "hosted", "--tag", "py"])
      if (base.code !== 0) throw new Error(base.out)
      await pushPythonBase(f.d)
      // 1. cold push→healthy vs buildah build + push of the same context, BENCH_BUILD_COLD_ROUNDS (3)
      // rounds: the first creates service `app`, each later one `app-<n>` on a node made cold again (no
      // build storage, chain snapshot or cached blob of the base), the anchor with a storage of its own
      const logsDir = path.join(f.d.config.paths.dataDir, "logs")
      const dataDir = f.d.config.paths.dataDir
      const conf = path.join(anchorRoot, "registries.conf")
      fs.writeFileSync(conf, `[[registry]]\nlocation = "${address}"\ninsecure = true\n`)
      const creds = ["--creds", `admin:${ADMIN_TOKEN}`]
      const env = { CONTAINERS_REGISTRIES_CONF: conf }
      const coldRounds = Math.max(1, Number(process.env["BENCH_BUILD_COLD_ROUNDS"] ?? 3))
      const cold: Array<{ push: number; anchor: number; log: ReturnType<typeof deploymentLog> }> = []
      for (let r = 0; r < coldRounds; r++) {
        if (r > 0) {
          makeCold(dataDir)
          fs.writeFileSync(manifestFile, manifest.replace(/^service = "app"$/m, `service = "app-${r + 1}"`))
        }
        await quiet()
        const coldStart = Date.now()
        const push = round(await cli(["push", "--create"]))
        const log = deploymentLog(logsDir, coldStart)
        const storage = [
          "--root",
          path.join(anchorRoot, `root-${r}`),
          "--runroot",
          path.join(anchorRoot, `run-${r}`),
          "--storage-driver",
          "overlay"
        ]
        await quiet()
        const anchorBuild = await run("buildah", [
          ...storage,
          "build",
          "--isolation",
          "chroot",
          "--layers",
          "--pull=missing",
          ...creds,
          "-t",
          "localhost/anchor:1",
          work
        ], { env })
        const anchorPush = await run("buildah", [
          ...storage,
          "push",
          "--tls-verify=false",
          ...creds,
          "localhost/anchor:1",
          `docker://${address}/default/app:anchor-${r + 1}`
        ], { env })
        cold.push({ push, anchor: round(anchorBuild + anchorPush), log })
      }
      fs.writeFileSync(manifestFile, manifest)
      const overheads = cold.map((c) => round(c.push - c.anchor))
      const middle = cold[overheads.indexOf(median(overheads))] ?? cold[0]
      if (middle === undefined) throw new Error("no cold round ran")
      results["push_to_healthy_s"] = middle.push
      results["anchor_build_push_s"] = middle.anchor
      results["push_overhead_s"] = median(overheads)
      cold.forEach((c, i) => {
        results[`cold_round_${i + 1}_push_s`] = c.push
        results[`cold_round_${i + 1}_anchor_s`] = c.anchor
      })
      coldRoundsText = cold.map((c, i) => `${c.push}/${c.anchor} (${overheads[i]})`).join(", ")
      const coldLog = middle.log

      // 2. cached rebuild after a one-line change (COPY www is the only changed layer)
      fs.writeFileSync(path.join(work, "www", "index.html"), "bench v2\n")
      await quiet()
      const cachedStart = Date.now()
      results["cached_rebuild_to_healthy_s"] = round(await cli(["push"]))
      const cachedLog = deploymentLog(logsDir, cachedStart)
      for (const [k, v] of Object.entries(split(coldLog, results["push_to_healthy_s"]))) results[`cold_${k}`] = v
      for (const [k, v] of Object.entries(split(cachedLog, results["cached_rebuild_to_healthy_s"]))) results[`cached_${k}`] = v
      if (process.env["BENCH_BUILD_PHASES"] === "1") {
        const show = (log: typeof coldLog) => log.map((e) => `  +${e.at.toFixed(2)} s ${e.line.slice(0, 110)}`)
        console.log(["cold push, deployment log:", ...show(coldLog), "cached rebuild:", ...show(cachedLog)].join("\n"))
      }
      if (onlyPush) return false

      // 2b. the running app's latency, idle vs during a CPU-bound build of another service
      Object.assign(results, await measureBusyBuildLatency(f.d, "app"))
      return true
    }
    // 3. first, on a service of its own (`upload`), while nothing has been built yet: see the header
    if (!onlyPush) {
      fs.writeFileSync(manifestFile, manifest.replace(/^service = "app"$/m, `service = "upload"`))
      await cli(["create"])
      const listed = (await (await f.d.request("/v1/services")).json()) as { items: Array<{ id: string; name: string }> }
      upload = await measureUpload({
        daemon: f.d,
        work,
        scratch: anchorRoot,
        serviceId: listed.items.find((s) => s.name === "upload")?.id ?? "",
        cliEnv: f.env,
        quiet
      })
      fs.writeFileSync(manifestFile, manifest)
      // what the failed builds of the uploads left in the project's build storage
      makeCold(f.d.config.paths.dataDir)
    }
    if (!onlyUpload) built = await pushAndBuild()
  } finally {
    await f.stop()
    unmountBelow(anchorRoot)
    fs.rmSync(work, { recursive: true, force: true })
    fs.rmSync(anchorRoot, { recursive: true, force: true })
  }
  if (!onlyUpload) {
    console.log(`push→healthy (cold)            ${results["push_to_healthy_s"]} s`)
    console.log(`anchor buildah build+push      ${results["anchor_build_push_s"]} s`)
    console.log(`Denia overhead                 ${results["push_overhead_s"]} s   (goal ≤ 2 s; median of rounds)`)
    console.log(`  rounds, push/anchor (overhead) s: ${coldRoundsText}`)
    console.log(`cached rebuild → healthy       ${results["cached_rebuild_to_healthy_s"]} s   (goal ≤ 3 s)`)
    const parts = (p: string) =>
      `upload+queue ${results[`${p}_before_build_s`]} s, build+push ${results[`${p}_build_push_s`]} s, pushed → healthy ${
        results[`${p}_pushed_to_healthy_s`]
      } s, healthy → CLI exit ${results[`${p}_healthy_to_exit_s`]} s`
    console.log(`  cold, from the deployment log:   ${parts("cold")}`)
    console.log(`  cached, from the deployment log: ${parts("cached")}`)
  }
  if (upload !== undefined) {
    printUpload(upload, loud)
    Object.assign(results, upload.results)
  }
  if (!built) return
  printBusyBuildLatency(results)
  fs.mkdirSync(path.join("bench", "results"), { recursive: true })
  fs.writeFileSync(path.join("bench", "results", "build.json"), JSON.stringify(results, null, 2) + "\n")
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e)
    process.exit(1)
  }
)
