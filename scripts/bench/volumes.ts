/**
 * bench:volumes — (1) restore and backup throughput of a 1 GiB volume
 * through the API (zstd) against `zstd -d | tar -x` and `tar -c | zstd` of
 * the same data in the same run; (2) redeploy-to-healthy of a PostgreSQL
 * service on a volume (recreate strategy, TCP health) against `podman
 * --runtime runc` stop + run of the same image on a copy of the same data dir
 * (until its published port accepts a connection). Needs root, podman and
 * runc. Writes bench/results/volumes.json.
 */
import { execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { PGDATA, postgresImage } from "../../test/integration/volumes/postgresImage.js"
import { ADMIN_TOKEN, startTestDaemon, type TestDaemon } from "../../test/support/daemon.js"
import { buildAndPushDebianImage, buildDebianImage, exportOciLayout } from "../../test/support/debianImages.js"
import { freePort } from "../../test/support/ports.js"

const GiB = 1024 ** 3
const REDEPLOYS = 5
const round = (n: number) => Math.round(n * 100) / 100
const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 0 ? ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2 : (s[m] ?? 0)
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const sh = (script: string) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn("sh", ["-c", script], { stdio: ["ignore", "ignore", "inherit"] })
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited ${code}`))))
  })
/** Times `f` from a clean start: the previous run's dirty pages are written back first (both sides alike). */
const timed = async (f: () => Promise<unknown>) => {
  execFileSync("sync")
  const t = performance.now()
  await f()
  return (performance.now() - t) / 1000
}

/** 1 GiB: 4 × 128 MiB of random bytes, 4 × 128 MiB of compressible text, 2048 small files. */
const makeDataset = (dir: string) => {
  const big = 128 * 1024 * 1024
  for (let i = 0; i < 8; i++) {
    const fd = fs.openSync(path.join(dir, `table-${i}`), "w")
    const line = Buffer.from(`${i} row of a table with some text that repeats now and then ${"x".repeat(40)}\n`)
    const text = Buffer.alloc(1024 * 1024)
    for (let o = 0; o < text.length; o += line.length) line.copy(text, o)
    for (let w = 0; w < big; w += 1024 * 1024) fs.writeSync(fd, i < 4 ? randomBytes(1024 * 1024) : text)
    fs.closeSync(fd)
  }
  fs.mkdirSync(path.join(dir, "small"))
  for (let i = 0; i < 2048; i++) fs.writeFileSync(path.join(dir, "small", `f${i}`), randomBytes(4096))
}

/** Waits (bounded) until no `.discarded-*` copy of a restore is left beside the volumes. */
const untilNoDiscardedCopies = async (serviceDir: string) => {
  for (let i = 0; i < 1200; i++) {
    if (!fs.readdirSync(serviceDir).some((n) => n.startsWith(".discarded-"))) return
    await sleep(50)
  }
  throw new Error("the replaced volume copy was not removed within 60 s")
}

const tcpOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port })
    s.once("connect", () => {
      s.destroy()
      resolve(true)
    })
    s.once("error", () => resolve(false))
  })

const deployToHealthy = async (d: TestDaemon, serviceId: string) => {
  const started = performance.now()
  const dep = (await (await d.request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: {} })).json()) as { id: string }
  for (;;) {
    const s = (await (await d.request(`/v1/deployments/${dep.id}`)).json()) as { status: string; error?: string }
    if (s.status === "healthy") return performance.now() - started
    if (s.status === "failed") throw new Error(`deployment failed: ${s.error}`)
    await sleep(5)
  }
}

const main = async () => {
  if (process.getuid?.() !== 0) throw new Error("bench:volumes needs root")
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "denia-bench-volumes-"))
  const d = await startTestDaemon({ log_level: "error" })
  const metrics: Array<{ name: string; unit: string; denia: number; anchor: number; anchorName: string; ratio: number }> = []
  try {
    const projects = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string }> }
    const projectId = projects.items[0]?.id ?? ""
    const create = async (name: string, extra: Record<string, unknown>) =>
      ((await (await d.request("/v1/services", {
        method: "POST",
        json: { projectId, name, source: { type: "hosted", tag: "v1" }, ...extra }
      })).json()) as { id: string }).id

    let bytes = GiB
    // --- (1) archive throughput (BENCH_VOLUMES=pg runs only part 2)
    if (process.env["BENCH_VOLUMES"] !== "pg") {
      const src = path.join(work, "src")
      fs.mkdirSync(src)
      makeDataset(src)
      bytes = Number(execFileSync("du", ["-sb", src]).toString().split("\t")[0])
      const archive = path.join(work, "archive.tar.zst")
      await sh(`tar -cf - -C ${src} . | zstd -q -c > ${archive}`)
      const svc = await create("bulk", { port: 8080, volumes: [{ name: "data", mountPath: "/data" }] })
      const archiveUrl = `${d.url}/v1/services/${svc}/volumes/data/archive`
      const volumeDir = path.join(d.dataDir, "volumes", projectId, "bulk", "data")

      const restoreRuns: Array<number> = []
      const restoreAnchor: Array<number> = []
      const backupRuns: Array<number> = []
      const backupAnchor: Array<number> = []
      for (let run = 0; run < 5; run++) {
        // the client is curl in its own process (as the CLI would be), not a client on the daemon's event loop
        const deniaRestore = async () => {
          restoreRuns.push(
            await timed(() =>
              sh(
                `curl -sS -f -o /dev/null -X PUT -H 'authorization: Bearer ${ADMIN_TOKEN}' -H 'content-type: application/zstd' -H 'Expect:' -T ${archive} '${archiveUrl}'`
              )
            )
          )
          // the replaced copy is removed in the background (ADR 0903): let that finish before anything else is timed
          await untilNoDiscardedCopies(path.dirname(volumeDir))
        }
        const anchorRestore = async () => {
          const scratch = path.join(work, `anchor-restore-${run}`)
          fs.mkdirSync(scratch)
          restoreAnchor.push(await timed(() => sh(`zstd -d -q -c ${archive} | tar -xf - -C ${scratch}`)))
          fs.rmSync(scratch, { recursive: true, force: true })
        }
        // the order alternates, so neither side always runs on the file system the other just churned
        if (run % 2 === 0) {
          await deniaRestore()
          await anchorRestore()
        } else {
          await anchorRestore()
          await deniaRestore()
        }

        const out = path.join(work, "backup.tar.zst")
        backupRuns.push(
          await timed(() => sh(`curl -sS -f -o ${out} -H 'authorization: Bearer ${ADMIN_TOKEN}' '${archiveUrl}?compress=zstd'`))
        )
        backupAnchor.push(await timed(() => sh(`tar -cf - -C ${volumeDir} . | zstd -q -c > ${out}`)))
        fs.rmSync(out, { force: true })
      }
      const list = (xs: ReadonlyArray<number>) => xs.map((x) => x.toFixed(2)).join(" ")
      console.log(`restore runs (s): denia ${list(restoreRuns)} | anchor ${list(restoreAnchor)}`)
      console.log(`backup runs (s):  denia ${list(backupRuns)} | anchor ${list(backupAnchor)}`)
      const mbps = (s: number) => round(bytes / (1024 * 1024) / s)
      const best = (xs: ReadonlyArray<number>) => Math.min(...xs)
      metrics.push({
        name: "backup-zstd",
        unit: "MiB/s",
        denia: mbps(best(backupRuns)),
        anchor: mbps(best(backupAnchor)),
        anchorName: "tar -c | zstd",
        ratio: round(best(backupAnchor) / best(backupRuns))
      })
      metrics.push({
        name: "restore-zstd",
        unit: "MiB/s",
        denia: mbps(best(restoreRuns)),
        anchor: mbps(best(restoreAnchor)),
        anchorName: "zstd -d | tar -x",
        ratio: round(best(restoreAnchor) / best(restoreRuns))
      })
      for (const m of metrics) console.log(`${m.name}: denia ${m.denia} ${m.unit}, anchor ${m.anchor} ${m.unit}, ratio ${m.ratio}`)
      fs.rmSync(src, { recursive: true, force: true })
      fs.rmSync(archive, { force: true })
      // an idle keep-alive connection may have been closed by the server meanwhile: retry once
      const purge = () => d.request(`/v1/services/${svc}?purgeVolumes=true`, { method: "DELETE" })
      await purge().catch(() => purge())
    }

    // --- (2) postgres redeploy (recreate) vs podman stop + run (BENCH_VOLUMES=archive runs only part 1)
    if (process.env["BENCH_VOLUMES"] === "archive") return
    const pg = await create("pg", {
      port: 5432,
      health: { type: "tcp", timeoutSeconds: 120 },
      volumes: [{ name: "data", mountPath: PGDATA }]
    })
    await buildAndPushDebianImage(postgresImage, {
      registry: d.config.values.bindAddr,
      repository: "default/pg",
      tag: "v1",
      credentials: { username: "admin", password: ADMIN_TOKEN }
    })
    console.log(`first deploy of postgres: ${round(await deployToHealthy(d, pg))} ms (pull, unpack, initdb)`)
    const denia: Array<number> = []
    for (let i = 0; i < REDEPLOYS; i++) denia.push(await deployToHealthy(d, pg))
    await d.request(`/v1/services/${pg}/stop`, { method: "POST", json: {} })
    await sleep(3000)

    const anchorData = path.join(work, "pgdata")
    execFileSync("cp", ["-a", path.join(d.dataDir, "volumes", projectId, "pg", "data"), anchorData])
    // podman names an `oci:` image after its directory: keep that path lowercase
    const layout = path.join(os.tmpdir(), `denia-bench-volumes-oci-${process.pid}`)
    await exportOciLayout(await buildDebianImage(postgresImage), layout, "v1")
    const podman = [
      "--runtime",
      "runc",
      "--cgroup-manager=cgroupfs",
      "--root",
      path.join(work, "podman", "root"),
      "--runroot",
      path.join(work, "podman", "run")
    ]
    const pull = () => execFileSync("podman", [...podman, "pull", "-q", `oci:${layout}:v1`], { stdio: ["ignore", "ignore", "inherit"] })
    try {
      pull()
    } catch {
      await sleep(2000)
      pull()
    }
    const imageId = execFileSync("podman", [...podman, "images", "-q"]).toString().trim().split("\n")[0] ?? ""
    const port = await freePort()
    const runArgs = [
      ...podman,
      "run",
      "-d",
      "--name",
      "pg-anchor",
      "--ulimit",
      "nofile=4096:4096",
      "--ulimit",
      "nproc=4096:4096",
      "-p",
      `127.0.0.1:${port}:5432`,
      "-v",
      `${anchorData}:${PGDATA}`,
      imageId
    ]
    const untilOpen = async () => {
      for (let i = 0; i < 24_000; i++) {
        if (await tcpOpen(port)) return
        await sleep(5)
      }
      throw new Error("podman postgres never opened its port")
    }
    execFileSync("podman", runArgs, { stdio: "ignore" })
    await untilOpen()
    const anchor: Array<number> = []
    for (let i = 0; i < REDEPLOYS; i++) {
      const started = performance.now()
      execFileSync("podman", [...podman, "stop", "-t", "20", "pg-anchor"], { stdio: "ignore" })
      execFileSync("podman", [...podman, "rm", "pg-anchor"], { stdio: "ignore" })
      execFileSync("podman", runArgs, { stdio: "ignore" })
      await untilOpen()
      anchor.push(performance.now() - started)
    }
    execFileSync("podman", [...podman, "rm", "-f", "pg-anchor"], { stdio: "ignore" })
    fs.rmSync(layout, { recursive: true, force: true })
    metrics.push({
      name: "pg-redeploy",
      unit: "ms",
      denia: round(median(denia)),
      anchor: round(median(anchor)),
      anchorName: "podman --runtime runc stop + run (published port open)",
      ratio: round(median(denia) / median(anchor))
    })

    const result = { area: "volumes", machine: `${os.cpus().length} cores, node ${process.version}`, metrics }
    fs.mkdirSync("bench/results", { recursive: true })
    fs.writeFileSync("bench/results/volumes.json", `${JSON.stringify(result, null, 2)}\n`)
    for (const m of metrics) {
      console.log(
        `${m.name.padEnd(13)} denia ${String(m.denia).padStart(9)} ${m.unit}   anchor ${
          String(m.anchor).padStart(9)
        } ${m.unit}   ratio ${m.ratio}   (${m.anchorName})`
      )
    }
    console.log(
      `wrote bench/results/volumes.json (${(bytes / GiB).toFixed(2)} GiB volume; throughput ratio = anchor time / denia time, goal >= 0.8)`
    )
  } finally {
    await d.stop()
    // podman's storage stays mounted until it is reset
    const podmanArgs = ["--root", path.join(work, "podman", "root"), "--runroot", path.join(work, "podman", "run")]
    if (fs.existsSync(path.join(work, "podman"))) {
      try {
        execFileSync("podman", [...podmanArgs, "system", "reset", "-f"], { stdio: "ignore" })
      } catch {
        // best effort
      }
      spawn("umount", [path.join(work, "podman", "root", "overlay")], { stdio: "ignore" })
      await sleep(500)
    }
    fs.rmSync(work, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
