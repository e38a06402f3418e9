/**
 * bench:deploy — redeploy of a cached busybox httpd image to `healthy`
 * (POST → status healthy, polled every 5 ms), median of 20, against an
 * anchor: the same rootfs started by `unshare -fmpiu --mount-proc chroot`
 * and polled until it answers HTTP. Needs root. Writes bench/results/deploy.json.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { startTestDaemon } from "../../test/support/daemon.js"
import { pushHttpd } from "../../test/support/deployImages.js"
import { freePort } from "../../test/support/ports.js"

const RUNS = 20
const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 0 ? ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2 : (s[m] ?? 0)
}
const round = (n: number) => Math.round(n * 100) / 100
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const main = async () => {
  if (process.getuid?.() !== 0) throw new Error("bench:deploy needs root")
  const d = await startTestDaemon({ log_level: "error" })
  try {
    const projects = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string }> }
    const svc = (await (
      await d.request("/v1/services", {
        method: "POST",
        json: { projectId: projects.items[0]?.id, name: "bench", source: { type: "hosted", tag: "v1" }, port: 8080 }
      })
    ).json()) as { id: string }
    await pushHttpd(d.config.values.bindAddr, "default/bench", "v1", "bench")

    const deployOnce = async () => {
      const started = performance.now()
      const dep = (await (await d.request(`/v1/services/${svc.id}/deployments`, { method: "POST", json: {} })).json()) as { id: string }
      for (;;) {
        const s = (await (await d.request(`/v1/deployments/${dep.id}`)).json()) as { status: string; imageDigest?: string; error?: string }
        if (s.status === "healthy") return { ms: performance.now() - started, digest: s.imageDigest ?? "" }
        if (s.status === "failed") throw new Error(`deployment failed: ${s.error}`)
        await sleep(5)
      }
    }
    const first = await deployOnce() // cold: pull + unpack
    const denia: Array<number> = []
    for (let i = 0; i < RUNS; i++) denia.push((await deployOnce()).ms)

    // Anchor: the same rootfs, unshare + chroot, until HTTP answers.
    const rootfs = path.join(d.config.paths.artifacts, first.digest.replace("sha256:", ""), "rootfs")
    const anchor: Array<number> = []
    for (let i = 0; i < RUNS; i++) {
      const port = await freePort()
      const started = performance.now()
      const child = spawn("unshare", [
        "-fmpiu",
        "--mount-proc",
        "chroot",
        rootfs,
        "/bin/busybox",
        "httpd",
        "-f",
        "-p",
        `127.0.0.1:${port}`,
        "-h",
        "/www"
      ], {
        stdio: "ignore"
      })
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false)
        if (ok) break
        await sleep(5)
      }
      anchor.push(performance.now() - started)
      child.kill("SIGKILL")
      await new Promise((r) => child.once("exit", r))
    }
    const result = {
      area: "deploy",
      machine: `${os.cpus().length} cores, node ${process.version}`,
      metrics: [
        {
          name: "redeploy",
          unit: "ms",
          denia: round(median(denia)),
          anchor: round(median(anchor)),
          anchorName: "unshare -fmpiu --mount-proc chroot + busybox httpd",
          ratio: round(median(denia) / median(anchor))
        },
        { name: "cold-deploy", unit: "ms", denia: round(first.ms), anchor: 0, anchorName: "none (first pull + unpack)", ratio: 0 }
      ]
    }
    fs.mkdirSync("bench/results", { recursive: true })
    fs.writeFileSync("bench/results/deploy.json", `${JSON.stringify(result, null, 2)}\n`)
    for (const m of result.metrics) {
      console.log(
        `${m.name.padEnd(14)} denia ${String(m.denia).padStart(8)} ${m.unit}   anchor ${
          String(m.anchor).padStart(8)
        } ${m.unit}   ratio ${m.ratio}   (${m.anchorName})`
      )
    }
    console.log("wrote bench/results/deploy.json (goal: redeploy median <= 300 ms)")
  } finally {
    await d.stop()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
