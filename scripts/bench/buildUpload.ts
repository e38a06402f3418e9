/**
 * bench:build part 3: upload of a 200 MB working tree (`denia push --no-follow`) against
 * `tar | zstd | curl --data-binary @-` to a local HTTP server that discards the body; also the compressed
 * push and the server side alone. See build.ts for where it runs and why.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { ADMIN_TOKEN, cliEntry } from "../../test/support/daemon.js"
import { median, round, run, settled } from "./buildRun.js"
import { cpuJiffies } from "./support.js"

export interface UploadBench {
  readonly daemon: { readonly url: string; readonly request: (p: string) => Promise<Response> }
  /** the working tree (its manifest names `serviceId`'s service); the 200 MB go to `data/` and are removed after */
  readonly work: string
  /** a scratch directory for the packed files */
  readonly scratch: string
  readonly serviceId: string
  /** the CLI's environment (daemon URL and token) */
  readonly cliEnv: Record<string, string>
  /** a sync, then waits for a quiet host (support.ts `quiesce`) */
  readonly quiet: () => Promise<void>
}

export interface UploadFigures {
  readonly results: Record<string, number>
  readonly plain: ReadonlyArray<number>
  readonly compressed: ReadonlyArray<number>
  /** per round: anchor/push/compressed push seconds */
  readonly seconds: ReadonlyArray<string>
}

const MB = 200

const writeTree = (dir: string) => {
  fs.mkdirSync(dir)
  for (let i = 0; i < MB; i++) {
    // half random (incompressible), half text-like: a realistic mix
    const chunk = i % 2 === 0 ? randomBytes(1024 * 1024) : Buffer.from(`line ${i} `.repeat(1024 * 1024 / 8).slice(0, 1024 * 1024))
    fs.writeFileSync(path.join(dir, `f${i}.bin`), chunk)
  }
}

export const measureUpload = async (b: UploadBench): Promise<UploadFigures> => {
  const big = path.join(b.work, "data")
  writeTree(big)
  // each timed run starts without dirty pages of the one before (the tree, the packed file, a stored
  // upload): writeback of those would slow whichever run writes to disk next
  const settle = () => execFileSync("sync")
  settle()
  const sink = http.createServer((req, res) => {
    req.on("data", () => undefined)
    req.on("end", () => res.end("ok"))
  })
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r))
  try {
    const port = (sink.address() as { port: number }).port
    const uploads = `${b.daemon.url}/v1/services/${b.serviceId}/uploads`
    const auth = `-H 'authorization: Bearer ${ADMIN_TOKEN}'`
    const curlPost = (file: string, headers: string, url: string) =>
      run("sh", ["-c", `curl -sS -f -o /dev/null -X POST -H 'Expect:' ${headers} -T '${file}' '${url}'`])
    // the server side alone (receive, check every header, store): the same tree packed once by tar | zstd,
    // streamed by curl to Denia's upload endpoint and to the discarding server
    const packed = path.join(b.scratch, "upload.tar.zst")
    execFileSync("sh", ["-c", `tar -C '${b.work}' --exclude=.git -cf - . | zstd -q -3 -T0 -c > '${packed}'`])
    settle()
    const serverUpload = await curlPost(packed, `${auth} -H 'content-type: application/zstd'`, uploads)
    const sinkUpload = await curlPost(packed, "", `http://127.0.0.1:${port}/`)
    // the same for the plain tar a push to a daemon on this host sends (ADR 0820)
    const plain = path.join(b.scratch, "upload.tar")
    execFileSync("sh", ["-c", `tar -C '${b.work}' --exclude=.git -cf '${plain}' .`])
    settle()
    const serverPlain = await curlPost(plain, `${auth} -H 'content-type: application/x-tar'`, uploads)
    const sinkPlain = await curlPost(plain, "", `http://127.0.0.1:${port}/`)
    fs.rmSync(packed)
    fs.rmSync(plain)
    // rounds of anchor, push (plain, to this daemon) and push compressed (DENIA_PUSH_COMPRESS=1, as to a
    // daemon on another host), each on a quiet host; every push waits for the deployment it queued to
    // end, so nothing of one run competes with the next
    const rounds = Number(process.env["BENCH_BUILD_UPLOAD_ROUNDS"] ?? 5)
    const ratios: Array<number> = []
    const compressedRatios: Array<number> = []
    const anchors: Array<number> = []
    const plains: Array<number> = []
    const compresseds: Array<number> = []
    const push = (env: Record<string, string>) =>
      run(process.execPath, [cliEntry, "push", "--no-follow"], { cwd: b.work, env: { ...b.cliEnv, ...env } })
    // what else the host did meanwhile: the event-loop delay of this process (the daemon and the
    // discarding server both run in it; the syncs between runs block it too) and the CPU time the
    // hypervisor took (steal)
    const loop = monitorEventLoopDelay({ resolution: 10 })
    loop.enable()
    const cpuBefore = await cpuJiffies()
    for (let r = 0; r < rounds; r++) {
      await b.quiet()
      const anchorUpload = await run("sh", [
        "-c",
        `tar -C '${b.work}' --exclude=.git -cf - . | zstd -q -3 -T0 -c | curl -s -o /dev/null --data-binary @- http://127.0.0.1:${port}/`
      ])
      await b.quiet()
      const deniaUpload = await push({})
      await settled(b.daemon, b.serviceId)
      await b.quiet()
      const deniaCompressed = await push({ DENIA_PUSH_COMPRESS: "1" })
      await settled(b.daemon, b.serviceId)
      anchors.push(anchorUpload)
      plains.push(deniaUpload)
      compresseds.push(deniaCompressed)
      ratios.push(round(anchorUpload / deniaUpload))
      compressedRatios.push(round(anchorUpload / deniaCompressed))
    }
    loop.disable()
    const cpuAfter = await cpuJiffies()
    const results: Record<string, number> = {
      upload_loop_delay_p99_ms: round(loop.percentile(99) / 1e6),
      upload_loop_delay_max_ms: round(loop.max / 1e6),
      upload_steal_pct: round((100 * (cpuAfter.steal - cpuBefore.steal)) / Math.max(1, cpuAfter.total - cpuBefore.total)),
      upload_200mb_server_mb_s: round(MB / serverUpload),
      upload_200mb_server_sink_mb_s: round(MB / sinkUpload),
      upload_server_ratio: round(sinkUpload / serverUpload),
      upload_200mb_server_plain_mb_s: round(MB / serverPlain),
      upload_200mb_server_plain_sink_mb_s: round(MB / sinkPlain),
      upload_server_plain_ratio: round(sinkPlain / serverPlain),
      upload_200mb_denia_mb_s: round(MB / median(plains)),
      upload_200mb_anchor_mb_s: round(MB / median(anchors)),
      upload_throughput_ratio: median(ratios),
      upload_200mb_denia_compressed_mb_s: round(MB / median(compresseds)),
      upload_compressed_ratio: median(compressedRatios)
    }
    ratios.forEach((x, i) => (results[`upload_throughput_ratio_round_${i + 1}`] = x))
    compressedRatios.forEach((x, i) => (results[`upload_compressed_ratio_round_${i + 1}`] = x))
    return {
      results,
      plain: ratios,
      compressed: compressedRatios,
      seconds: anchors.map((a, i) => `${round(a)}/${round(plains[i] ?? NaN)}/${round(compresseds[i] ?? NaN)}`)
    }
  } finally {
    sink.close()
    fs.rmSync(big, { recursive: true, force: true })
  }
}

/** The upload lines; `loud` counts the timed runs of the whole bench that started before the host was quiet. */
export const printUpload = (u: UploadFigures, loud: number) => {
  const r = u.results
  console.log(
    `upload 200 MB: denia ${r["upload_200mb_denia_mb_s"]} MB/s, tar|zstd|curl ${r["upload_200mb_anchor_mb_s"]} MB/s, ratio ${
      r["upload_throughput_ratio"]
    } (goal ≥ 0.8; median of rounds ${u.plain.join(", ")})`
  )
  console.log(
    `  seconds per round, anchor/push/compressed push: ${u.seconds.join(", ")}${
      loud > 0 ? ` (${loud} timed run(s) started before the host was quiet: 15 s passed)` : ""
    }`
  )
  console.log(
    `  meanwhile (syncs between runs included): event-loop delay p99 ${r["upload_loop_delay_p99_ms"]} ms (max ${
      r["upload_loop_delay_max_ms"]
    } ms), CPU steal ${r["upload_steal_pct"]} %`
  )
  console.log(
    `upload 200 MB compressed (DENIA_PUSH_COMPRESS=1, as to another host): denia ${r["upload_200mb_denia_compressed_mb_s"]} MB/s, ratio ${
      r["upload_compressed_ratio"]
    } (rounds ${u.compressed.join(", ")})`
  )
  console.log(
    `upload 200 MB, server side: curl → denia ${r["upload_200mb_server_mb_s"]} MB/s, curl → discard ${
      r["upload_200mb_server_sink_mb_s"]
    } MB/s, ratio ${r["upload_server_ratio"]}`
  )
  console.log(
    `upload 200 MB, server side, plain tar: curl → denia ${r["upload_200mb_server_plain_mb_s"]} MB/s, curl → discard ${
      r["upload_200mb_server_plain_sink_mb_s"]
    } MB/s, ratio ${r["upload_server_plain_ratio"]}`
  )
}
