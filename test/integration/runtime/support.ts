/** Helpers for the privileged runtime tests. */
import { Effect, type Layer } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import type { RuntimeIoError } from "../../../src/runtime/errors.js"
import { resolveHelperPath } from "../../../src/runtime/helperPath.js"
import { Runtime } from "../../../src/runtime/Runtime.js"
import type { RuntimeOptions } from "../../../src/runtime/types.js"
import { buildBusyboxRootfs } from "../../support/busybox-rootfs.js"

export const isRoot = process.getuid?.() === 0
export const USERNS_BASE = 100000
export const USERNS_SIZE = 65536

/** First cgroup2 mount point of this host, if any. */
export const cgroup2Mount = (): string | null => {
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [pre, post] = line.split(" - ")
    if (post?.startsWith("cgroup2 ")) return pre?.split(" ")[4] ?? null
  }
  return null
}

export interface Env {
  readonly dir: string
  readonly dataDir: string
  readonly rootfs: string
  readonly cgroupRoot: string
  readonly options: RuntimeOptions
  readonly layer: Layer.Layer<Runtime, RuntimeIoError>
  readonly cleanup: () => void
}

/** Temp data dir + busybox bundle + a cgroup root on the host's cgroup2 (when mounted). */
export const makeEnv = async (extra: Partial<RuntimeOptions> = {}): Promise<Env> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-rt-"))
  const rootfs = await buildBusyboxRootfs(path.join(dir, "bundle"), { owner: USERNS_BASE })
  const mnt = cgroup2Mount()
  const cgroupRoot = mnt !== null ? path.join(mnt, `denia-test-${path.basename(dir)}`) : path.join(dir, "no-cgroup")
  const options: RuntimeOptions = {
    dataDir: path.join(dir, "data"),
    usernsBase: USERNS_BASE,
    usernsSize: USERNS_SIZE,
    cgroupRoot,
    helperPath: resolveHelperPath(),
    stopGraceMs: 2000,
    logMaxBytes: 1024 * 1024,
    ...extra
  }
  return {
    dir,
    dataDir: options.dataDir,
    rootfs,
    cgroupRoot,
    options,
    layer: Runtime.layer(options),
    cleanup: () => {
      // cgroup dirs cannot be removed recursively; children first
      const rmCg = (p: string) => {
        if (!fs.existsSync(p)) return
        for (const e of fs.readdirSync(p, { withFileTypes: true })) if (e.isDirectory()) rmCg(path.join(p, e.name))
        try {
          fs.rmdirSync(p)
        } catch {
          // populated or not a cgroup: reported by the test that created it
        }
      }
      if (mnt !== null) rmCg(cgroupRoot)
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface HttpResult {
  readonly status: number
  readonly body: string
}

export const httpGet = (socketPath: string, reqPath: string): Effect.Effect<HttpResult, Error> =>
  Effect.async<HttpResult, Error>((resume) => {
    const req = http.request({ socketPath, path: reqPath, headers: { host: "localhost" }, agent: false }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (c: string) => (body += c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body })))
    })
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end()
  })

export const httpGetBytes = (socketPath: string, reqPath: string): Effect.Effect<Buffer, Error> =>
  Effect.async<Buffer, Error>((resume) => {
    const req = http.request({ socketPath, path: reqPath, headers: { host: "localhost" }, agent: false }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resume(Effect.succeed(Buffer.concat(chunks))))
      res.on("error", (e) => resume(Effect.fail(e)))
    })
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end()
  })

/** Strip the `<time> <replica> <stream> ` prefix of service log lines. */
export const logText = (lines: ReadonlyArray<string>, stream = "stdout"): Array<string> =>
  lines
    .map((l) => /^\S+ \S+ (\S+) (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[1] === stream)
    .map((m) => m[2] ?? "")

/** Exists and is not a zombie (a zombie reparented to a non-reaping pid 1 can linger). */
export const pidAlive = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

/** Bounded poll of a synchronous condition. */
export const eventually = (cond: () => boolean, tries = 300, everyMs = 10): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    for (let i = 0; i < tries; i++) {
      if (cond()) return true
      yield* Effect.sleep(everyMs)
    }
    return cond()
  })
