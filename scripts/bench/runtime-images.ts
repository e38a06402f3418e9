/**
 * npm run bench:runtime-images — start-to-ready of a real image (Debian nginx,
 * the compat suite's image (a)), Denia vs podman, measured in the same run:
 *  - Denia: `Runtime.start` directly (the helper, the sandbox the daemon
 *    asks for: engine-default capabilities, the image's STOPSIGNAL, 64 MiB
 *    /dev/shm, RLIMIT_NOFILE) on the image's rootfs unpacked by Denia's own
 *    unpacker, until an HTTP status line comes back over the replica socket
 *  - anchor: `podman --runtime runc --cgroup-manager=cgroupfs run -d
 *    --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 -p 127.0.0.1:<port>:80`
 *    of the same image (exported as an OCI layout, loaded once into a private
 *    podman storage) until a status line comes back over host TCP
 * Median of RUNS each; goal ratio ≤ 0.5. Writes bench/results/runtime-images.json.
 * Needs root, mmdebstrap and buildah; without podman the anchor is skipped.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DEFAULT_CAPABILITIES } from "../../src/domain/capabilities.js"
import { RootfsUnpacker } from "../../src/oci/unpack.js"
import { resolveHelperPath } from "../../src/runtime/helperPath.js"
import { Runtime } from "../../src/runtime/Runtime.js"
import { nginxImage } from "../../test/integration/compat/images.js"
import { buildDebianImage, exportOciLayout } from "../../test/support/debianImages.js"
import { freePort, probeTcp } from "./support.js"

const RUNS = 15
const USERNS_BASE = 100000
const USERNS_SIZE = 65536

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d
const nowMs = () => Number(process.hrtime.bigint()) / 1e6

const onPath = (cmd: string): boolean => (process.env.PATH ?? "").split(":").some((dir) => dir !== "" && fs.existsSync(path.join(dir, cmd)))

const run = (cmd: string, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)))
    child.on("error", reject)
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err}`))))
  })

interface OciDescriptor {
  readonly digest: string
}
interface ImageConfig {
  readonly config?: {
    readonly Entrypoint?: ReadonlyArray<string> | null
    readonly Cmd?: ReadonlyArray<string> | null
    readonly Env?: ReadonlyArray<string> | null
  }
}

const blob = (layout: string, digest: string) => path.join(layout, "blobs", ...digest.split(":"))
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, "utf8")) as T

/** Unpacks the layout's image with Denia's unpacker (ids shifted into the replica's user namespace). */
const unpackLayout = async (layout: string, rootfs: string) => {
  const index = readJson<{ manifests: ReadonlyArray<OciDescriptor> }>(path.join(layout, "index.json"))
  const top = index.manifests[0]
  if (top === undefined) throw new Error("empty OCI layout")
  const manifest = readJson<{ config: OciDescriptor; layers: ReadonlyArray<OciDescriptor> }>(blob(layout, top.digest))
  const config = readJson<ImageConfig>(blob(layout, manifest.config.digest)).config ?? {}
  fs.mkdirSync(rootfs, { recursive: true })
  const unpacker = new RootfsUnpacker(rootfs, {
    maxBytes: 4 * 1024 ** 3,
    maxEntries: 1_000_000,
    idShift: { base: USERNS_BASE, size: USERNS_SIZE }
  })
  for (const [i, l] of manifest.layers.entries()) await unpacker.applyLayerFile(`${i + 1}`, blob(layout, l.digest))
  await unpacker.finish()
  fs.chownSync(rootfs, USERNS_BASE, USERNS_BASE)
  const env: Record<string, string> = {}
  for (const kv of config.Env ?? []) {
    const at = kv.indexOf("=")
    if (at > 0) env[kv.slice(0, at)] = kv.slice(at + 1)
  }
  return { argv: [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])], env }
}

/** One podman start-to-ready: `run -d` until the published port answers, then removed. */
const podmanOnce = async (podman: ReadonlyArray<string>, image: string): Promise<number> => {
  const port = await freePort()
  const name = `denia-bench-${process.pid}-${port}`
  const t0 = nowMs()
  await run("podman", [
    ...podman,
    "run",
    "-d",
    "--name",
    name,
    "--ulimit",
    "nofile=4096:4096",
    "--ulimit",
    "nproc=4096:4096",
    "-p",
    `127.0.0.1:${port}:80`,
    image
  ])
  let delay = 2
  let ready = false
  for (let i = 0; i < 500 && !ready; i++) {
    ready = await probeTcp(port)
    if (!ready) {
      await new Promise((r) => setTimeout(r, delay))
      delay = Math.min(delay * 2, 50)
    }
  }
  const ms = nowMs() - t0
  await run("podman", [...podman, "rm", "-f", "-t", "0", name])
  if (!ready) throw new Error("podman: nginx never answered")
  return ms
}

/** Unmounts what podman left mounted under `dir` (its overlay store), deepest first. */
const unmountUnder = async (dir: string) => {
  const mounts = fs.readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "")
  for (const m of mounts.filter((m) => m.startsWith(`${dir}/`)).sort().reverse()) await run("umount", ["-l", m]).catch(() => "")
}

const main = Effect.gen(function*() {
  // lowercase: podman names an `oci:` image after its path
  const dir = path.join(os.tmpdir(), `denia-bench-images-${process.pid}`)
  fs.mkdirSync(dir, { recursive: true })
  yield* Effect.addFinalizer(() =>
    Effect.promise(async () => {
      await unmountUnder(dir)
      fs.rmSync(dir, { recursive: true, force: true })
    })
  )
  console.log("building the nginx image (cached after the first run) …")
  const image = yield* Effect.promise(() => buildDebianImage(nginxImage))
  const layout = path.join(dir, "oci")
  yield* Effect.promise(() => exportOciLayout(image, layout, "nginx"))
  const rootfs = path.join(dir, "rootfs")
  const { argv, env } = yield* Effect.promise(() => unpackLayout(layout, rootfs))

  const layer = Runtime.layer({
    dataDir: path.join(dir, "data"),
    usernsBase: USERNS_BASE,
    usernsSize: USERNS_SIZE,
    cgroupRoot: "/sys/fs/cgroup/denia-bench-images",
    helperPath: resolveHelperPath(),
    stopGraceMs: 2000,
    logMaxBytes: 1 << 20
  })
  const denia: Array<number> = yield* Effect.gen(function*() {
    const rt = yield* Runtime
    const once = (replica: string) =>
      Effect.gen(function*() {
        const t0 = nowMs()
        yield* Effect.scoped(
          rt.start({
            service: "benchnginx",
            deployment: "d1",
            replica,
            rootfs,
            argv,
            env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ...env },
            port: 80,
            readiness: { timeoutMs: 10_000 },
            capabilities: DEFAULT_CAPABILITIES,
            stopSignal: 3,
            shmBytes: 64 * 1024 * 1024,
            nofile: { soft: 1024, hard: 65536 }
          })
        )
        return nowMs() - t0
      })
    for (let i = 0; i < 2; i++) yield* once(`w${i}`)
    const out: Array<number> = []
    for (let i = 0; i < RUNS; i++) out.push(yield* once(`r${i}`))
    return out
  }).pipe(Effect.provide(layer))

  let anchor: number | undefined
  const anchorName = "podman --runtime runc --cgroup-manager=cgroupfs run -d --ulimit nofile=4096:4096 --ulimit nproc=4096:4096"
  if (!onPath("podman") || !onPath("runc")) {
    console.log("podman anchor skipped: podman and runc are not both installed (Denia's figure stands alone)")
  } else {
    const podman = [
      "--root",
      path.join(dir, "podman", "root"),
      "--runroot",
      path.join(dir, "podman", "run"),
      "--runtime",
      "runc",
      "--cgroup-manager=cgroupfs",
      "--events-backend=none"
    ]
    const id = (yield* Effect.promise(() => run("podman", [...podman, "pull", "-q", `oci:${layout}:nginx`]))).trim()
    const times: Array<number> = []
    yield* Effect.promise(async () => {
      for (let i = 0; i < 2; i++) await podmanOnce(podman, id)
      for (let i = 0; i < RUNS; i++) times.push(await podmanOnce(podman, id))
    })
    yield* Effect.promise(() => run("podman", [...podman, "rmi", "-a", "-f"]).catch(() => ""))
    anchor = median(times)
  }

  const d = median(denia)
  const metric = {
    name: "nginx-start-to-ready",
    unit: "ms",
    denia: round(d),
    anchor: anchor === undefined ? null : round(anchor),
    anchorName: anchor === undefined ? "(podman missing: skipped)" : anchorName,
    ratio: anchor === undefined ? null : round(d / anchor),
    goal: "ratio ≤ 0.5"
  }
  const result = {
    area: "runtime-images",
    machine: `${os.cpus().length} cores, node ${process.version}`,
    notes: `runs=${RUNS}; Denia = Runtime.start directly (readiness: HTTP status line over the replica socket)`,
    metrics: [metric]
  }
  fs.mkdirSync("bench/results", { recursive: true })
  fs.writeFileSync("bench/results/runtime-images.json", `${JSON.stringify(result, null, 2)}\n`)
  console.log(
    `${metric.name.padEnd(24)} denia ${String(metric.denia).padStart(8)} ms   anchor ${
      String(metric.anchor ?? "-").padStart(8)
    } ms   ratio ${metric.ratio ?? "-"}   (${metric.anchorName})`
  )
  console.log("wrote bench/results/runtime-images.json")
})

if (process.getuid?.() !== 0) {
  console.log("bench:runtime-images needs root (namespaces, overlay mounts); nothing measured")
} else if (!onPath("mmdebstrap") || !onPath("buildah")) {
  console.log("bench:runtime-images needs mmdebstrap and buildah to build the image; nothing measured")
} else {
  Effect.runPromise(Effect.scoped(main)).catch((e: unknown) => {
    console.error(e)
    process.exitCode = 1
  })
}
