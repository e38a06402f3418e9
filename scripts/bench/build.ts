/**
 * bench:build — builds from source (issue 19), one run of each, printed as lines and written to
 * bench/results/build.json. Needs root, buildah and zstd.
 *
 * 1. push→healthy of the small Python app (`denia push --create`, CLI wall time, cold project cache)
 *    against the anchor: `buildah build` + `buildah push` of the same context alone, with its own cold
 *    storage, into the same hosted registry. Goal: Denia's overhead ≤ 2 s.
 * 2. cached rebuild after a one-line source change (`denia push`, dependency layer reused). Goal ≤ 3 s.
 * 3. upload of a 200 MB working tree (`denia push --no-follow`: pack, compress, stream, server-side
 *    checks) against `tar | zstd | curl --data-binary @-` to a local HTTP server that discards the body.
 *    Goal: throughput ≥ 0.8× the anchor. Also the server side alone: the same tree packed once, streamed
 *    by curl to the upload endpoint and to the discarding server.
 */
import { execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { startCliFixture } from "../../test/integration/cli/support.js"
import { ADMIN_TOKEN, cliEntry } from "../../test/support/daemon.js"
import { pushPythonBase, pythonAppFiles } from "../../test/support/uploads.js"

const round = (n: number) => Math.round(n * 100) / 100

const run = (cmd: string, args: ReadonlyArray<string>, options: { cwd?: string; env?: Record<string, string>; shell?: boolean } = {}) =>
  new Promise<number>((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      shell: options.shell ?? false
    })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-4000)))
    child.stderr.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-4000)))
    child.on(
      "exit",
      (code) =>
        code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${out}`))
    )
  })

const main = async () => {
  if (process.getuid?.() !== 0) throw new Error("bench:build needs root")
  const f = await startCliFixture()
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "denia-bench-build-"))
  const anchorRoot = fs.mkdtempSync(path.join(os.tmpdir(), "denia-bench-anchor-"))
  const results: Record<string, number> = {}
  try {
    const address = f.d.config.values.bindAddr
    const base = await f.cli(["services", "create", "base", "--source", "hosted", "--tag", "py"])
    if (base.code !== 0) throw new Error(base.out)
    await pushPythonBase(f.d)
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

    // 1. cold push→healthy vs buildah build + push of the same context
    results["push_to_healthy_s"] = round(await cli(["push", "--create"]))
    const storage = ["--root", path.join(anchorRoot, "root"), "--runroot", path.join(anchorRoot, "run"), "--storage-driver", "overlay"]
    const conf = path.join(anchorRoot, "registries.conf")
    fs.writeFileSync(conf, `[[registry]]\nlocation = "${address}"\ninsecure = true\n`)
    const creds = ["--creds", `admin:${ADMIN_TOKEN}`]
    const env = { CONTAINERS_REGISTRIES_CONF: conf }
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
      `docker://${address}/default/app:anchor`
    ], { env })
    results["anchor_build_push_s"] = round(anchorBuild + anchorPush)
    results["push_overhead_s"] = round(results["push_to_healthy_s"] - results["anchor_build_push_s"])

    // 2. cached rebuild after a one-line change (COPY www is the only changed layer)
    fs.writeFileSync(path.join(work, "www", "index.html"), "bench v2\n")
    results["cached_rebuild_to_healthy_s"] = round(await cli(["push"]))

    // 3. upload of a 200 MB working tree
    const big = path.join(work, "data")
    fs.mkdirSync(big)
    for (let i = 0; i < 200; i++) {
      // half random (incompressible), half text-like: a realistic mix
      const chunk = i % 2 === 0 ? randomBytes(1024 * 1024) : Buffer.from(`line ${i} `.repeat(1024 * 1024 / 8).slice(0, 1024 * 1024))
      fs.writeFileSync(path.join(big, `f${i}.bin`), chunk)
    }
    const mb = 200
    const deniaUpload = await cli(["push", "--no-follow"])
    const sink = http.createServer((req, res) => {
      req.on("data", () => undefined)
      req.on("end", () => res.end("ok"))
    })
    await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r))
    const port = (sink.address() as { port: number }).port
    const anchorUpload = await run(
      "sh",
      [
        "-c",
        `tar -C '${work}' --exclude=.git -cf - . | zstd -q -3 -T0 -c | curl -s -o /dev/null --data-binary @- http://127.0.0.1:${port}/`
      ],
      {}
    )
    // the server side alone (receive, check every header, store): the same tree packed once by tar | zstd,
    // streamed by curl to Denia's upload endpoint and to the discarding server
    const packed = path.join(anchorRoot, "upload.tar.zst")
    execFileSync("sh", ["-c", `tar -C '${work}' --exclude=.git -cf - . | zstd -q -3 -T0 -c > '${packed}'`])
    const listed = (await (await f.d.request("/v1/services")).json()) as { items: Array<{ id: string; name: string }> }
    const appId = listed.items.find((s) => s.name === "app")?.id ?? ""
    const curlPost = (headers: string, url: string) =>
      run("sh", ["-c", `curl -sS -f -o /dev/null -X POST -H 'Expect:' ${headers} -T '${packed}' '${url}'`])
    const serverUpload = await curlPost(
      `-H 'authorization: Bearer ${ADMIN_TOKEN}' -H 'content-type: application/zstd'`,
      `${f.d.url}/v1/services/${appId}/uploads`
    )
    const sinkUpload = await curlPost("", `http://127.0.0.1:${port}/`)
    results["upload_200mb_server_mb_s"] = round(mb / serverUpload)
    results["upload_200mb_server_sink_mb_s"] = round(mb / sinkUpload)
    results["upload_server_ratio"] = round(sinkUpload / serverUpload)
    sink.close()
    results["upload_200mb_denia_mb_s"] = round(mb / deniaUpload)
    results["upload_200mb_anchor_mb_s"] = round(mb / anchorUpload)
    results["upload_throughput_ratio"] = round(anchorUpload / deniaUpload)
  } finally {
    await f.stop()
    execFileSync("sh", ["-c", `grep -o ' ${anchorRoot}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l || true`])
    fs.rmSync(work, { recursive: true, force: true })
    fs.rmSync(anchorRoot, { recursive: true, force: true })
  }
  console.log(`push→healthy (cold)            ${results["push_to_healthy_s"]} s`)
  console.log(`anchor buildah build+push      ${results["anchor_build_push_s"]} s`)
  console.log(`Denia overhead                 ${results["push_overhead_s"]} s   (goal ≤ 2 s)`)
  console.log(`cached rebuild → healthy       ${results["cached_rebuild_to_healthy_s"]} s   (goal ≤ 3 s)`)
  console.log(
    `upload 200 MB: denia ${results["upload_200mb_denia_mb_s"]} MB/s, tar|zstd|curl ${results["upload_200mb_anchor_mb_s"]} MB/s, ratio ${
      results["upload_throughput_ratio"]
    } (goal ≥ 0.8)`
  )
  console.log(
    `upload 200 MB, server side: curl → denia ${results["upload_200mb_server_mb_s"]} MB/s, curl → discard ${
      results["upload_200mb_server_sink_mb_s"]
    } MB/s, ratio ${results["upload_server_ratio"]}`
  )
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
