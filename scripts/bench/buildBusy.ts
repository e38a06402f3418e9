/**
 * bench:build, busy-build section: a running service's request latency while the node is idle and while
 * a build runs a CPU-bound step (`yes > /dev/null` on every core) — p50/p99 of each and the busy/idle
 * ratio, printed (no goal: the test in test/integration/uploads asserts answers, this shows how fast).
 * Requests go straight to the replica's socket, so the number is the service's own latency under the
 * build's CPU contention, not the ingress's.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import type { TestDaemon } from "../../test/support/daemon.js"
import { getViaSocket, replicaSockets, waitForDeployment } from "../../test/support/deployments.js"
import { gzipped, tarOf } from "../../test/support/tarballs.js"
import { postBytes } from "../../test/support/uploads.js"

const round = (n: number) => Math.round(n * 100) / 100

const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  const sorted = [...samples].sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

const timedGet = async (socket: string): Promise<number> => {
  const started = performance.now()
  const r = await getViaSocket(socket)
  if (r.status !== 200) throw new Error(`the measured service answered ${r.status}`)
  return performance.now() - started
}

const json = async <T>(r: Response): Promise<T> => {
  if (!r.ok) throw new Error(`${r.status} ${await r.text()}`)
  return (await r.json()) as T
}

/** The idle/busy latency of `serviceName` (running, healthy) in the default project; results in ms. */
export const measureBusyBuildLatency = async (
  d: TestDaemon,
  serviceName: string,
  options: { readonly idleSamples?: number; readonly busySeconds?: number } = {}
): Promise<Record<string, number>> => {
  const idleSamples = options.idleSamples ?? 400
  const busySeconds = options.busySeconds ?? 25
  const address = d.config.values.bindAddr
  const services = await json<{ items: Array<{ id: string; name: string; projectId: string; promotedDeploymentId: string | null }> }>(
    await d.request("/v1/services")
  )
  const target = services.items.find((s) => s.name === serviceName)
  if (target?.promotedDeploymentId == null) throw new Error(`busy-build bench: ${serviceName} is not running`)
  const socket = replicaSockets(d.dataDir, target.promotedDeploymentId)[0]
  if (socket === undefined) throw new Error(`busy-build bench: ${serviceName} has no replica socket`)

  // warm up, then idle samples back to back
  for (let i = 0; i < 20; i++) await timedGet(socket)
  const idle: Array<number> = []
  for (let i = 0; i < idleSamples; i++) idle.push(await timedGet(socket))

  // a second upload service whose build keeps every core busy for `busySeconds`
  const busy = await json<{ id: string }>(
    await d.request("/v1/services", {
      method: "POST",
      json: { projectId: target.projectId, name: "busy", source: { type: "upload" }, port: 8080, health: { path: "/" } }
    })
  )
  const dockerfile = [
    `FROM ${address}/default/base:py`,
    `RUN for i in $(seq $(nproc)); do timeout ${busySeconds} sh -c 'yes > /dev/null' & done; wait; true`,
    "CMD python3 -m http.server $PORT",
    ""
  ].join("\n")
  const posted = await postBytes(
    d,
    `/v1/services/${busy.id}/uploads?deploy=true`,
    gzipped(await tarOf([{ name: "Dockerfile", content: dockerfile }]))
  )
  if (posted.status !== 201) throw new Error(`busy-build bench: upload answered ${posted.status} ${posted.body}`)
  const deploymentId = (JSON.parse(posted.body) as { deployment: { id: string } }).deployment.id
  const logFile = path.join(d.dataDir, "logs", "deployments", `${deploymentId}.log`)

  // sample only while the busy step runs: from its STEP line until the next line of the build
  const busySamples: Array<number> = []
  const deadline = Date.now() + (busySeconds + 120) * 1000
  for (;;) {
    if (Date.now() > deadline) throw new Error("busy-build bench: the busy step did not finish in time")
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : ""
    const at = log.indexOf("yes > /dev/null")
    if (at >= 0 && /BUILDING (STEP 3\/|COMMIT|--> )/.test(log.slice(at))) break
    if (at >= 0) {
      busySamples.push(await timedGet(socket))
      continue
    }
    const status = await json<{ status: string; error?: string }>(await d.request(`/v1/deployments/${deploymentId}`))
    if (status.status !== "pending" && status.status !== "building") {
      throw new Error(`busy-build bench: the busy build ended before its step (${status.status} ${status.error ?? ""})`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  await waitForDeployment(d, deploymentId, 300_000)

  const idleP99 = percentile(idle, 99)
  const busyP99 = percentile(busySamples, 99)
  return {
    busy_build_idle_p50_ms: round(percentile(idle, 50)),
    busy_build_idle_p99_ms: round(idleP99),
    busy_build_busy_p50_ms: round(percentile(busySamples, 50)),
    busy_build_busy_p99_ms: round(busyP99),
    busy_build_p99_ratio: round(busyP99 / idleP99),
    busy_build_samples_idle: idle.length,
    busy_build_samples_busy: busySamples.length
  }
}

export const printBusyBuildLatency = (r: Record<string, number>) => {
  console.log(
    `service latency, idle          p50 ${r["busy_build_idle_p50_ms"]} ms, p99 ${r["busy_build_idle_p99_ms"]} ms (${
      r["busy_build_samples_idle"]
    } requests)`
  )
  console.log(
    `service latency, busy build    p50 ${r["busy_build_busy_p50_ms"]} ms, p99 ${r["busy_build_busy_p99_ms"]} ms (${
      r["busy_build_samples_busy"]
    } requests, yes > /dev/null on every core)`
  )
  console.log(`busy/idle p99 ratio            ${r["busy_build_p99_ratio"]}×`)
}
