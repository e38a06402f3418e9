import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { processTree } from "../../../src/runtime/procfs.js"
import { Runtime } from "../../../src/runtime/Runtime.js"
import { type Env, eventually, httpGet, isRoot, makeEnv, pidAlive } from "./support.js"

if (!isRoot) console.log("skipping sweepOrphans test: it needs root (namespaces, overlay mounts)")

const here = path.dirname(fileURLToPath(import.meta.url))
const repo = path.resolve(here, "..", "..", "..")

interface Ready {
  readonly pid: number
  readonly dir: string
  readonly socketPath: string
  readonly cgroup: string | null
}

/** Start the child daemon and wait (bounded) for its READY line. */
const startChild = (arg: string) =>
  Effect.async<{ ready: Ready; childPid: number }, Error>((resume) => {
    const child = spawn(path.join(repo, "node_modules", ".bin", "vite-node"), [path.join(here, "fixtures", "orphan-child.ts"), arg], {
      cwd: repo,
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      resume(Effect.fail(new Error(`child did not get ready: ${out}`)))
    }, 50_000)
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString()
      const m = /READY (.*)\n/.exec(out)
      if (m?.[1] !== undefined) {
        clearTimeout(timer)
        resume(Effect.succeed({ ready: JSON.parse(m[1]) as Ready, childPid: child.pid ?? -1 }))
      } else if (out.includes("FAILED")) {
        clearTimeout(timer)
        resume(Effect.fail(new Error(out)))
      }
    })
  })

describe.skipIf(!isRoot)("sweepOrphans (privileged)", () => {
  let env: Env
  beforeAll(async () => {
    env = await makeEnv()
  })
  afterAll(() => env.cleanup())

  it.live("reclaims processes, cgroup and dirs after the daemon was SIGKILLed", () =>
    Effect.gen(function*() {
      const spec = {
        service: "orphan",
        deployment: "d1",
        replica: "r1",
        rootfs: env.rootfs,
        argv: ["/bin/httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www"],
        env: { PATH: "/bin" },
        port: 8080
      }
      const { ready, childPid } = yield* startChild(JSON.stringify({ options: env.options, spec }))
      process.kill(childPid, "SIGKILL")
      expect(yield* eventually(() => !pidAlive(childPid))).toBe(true)
      // the replica outlived its daemon
      expect(pidAlive(ready.pid)).toBe(true)
      expect((yield* httpGet(ready.socketPath, "/")).status).toBe(200)
      const tree = (yield* processTree(ready.pid)).map((p) => p.pid)
      expect(tree.length).toBeGreaterThanOrEqual(3) // launcher, init, httpd

      const report = yield* Effect.gen(function*() {
        const rt = yield* Runtime
        // a replica of the sweeping instance itself is left alone
        const mine = yield* rt.start({ ...spec, service: "mine" })
        const rep = yield* rt.sweepOrphans
        expect((yield* httpGet(mine.socketPath ?? "", "/")).status).toBe(200)
        return rep
      }).pipe(Effect.scoped, Effect.provide(env.layer))
      expect(report.replicasRemoved).toBe(1)
      expect(report.processesKilled).toBeGreaterThanOrEqual(1)
      expect(pidAlive(ready.pid)).toBe(false)
      expect(fs.existsSync(ready.dir)).toBe(false)
      expect(fs.existsSync(path.join(env.dataDir, "runtime", "orphan"))).toBe(false)
      if (ready.cgroup !== null) expect(fs.existsSync(ready.cgroup)).toBe(false)
      expect(tree.filter(pidAlive)).toEqual([])
    }))
})
