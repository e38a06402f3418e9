import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { Runtime } from "../../../src/runtime/Runtime.js"
import type { ReplicaSpec } from "../../../src/runtime/types.js"
import { type Env, eventually, httpGet, httpGetBytes, isRoot, logText, makeEnv, pidAlive } from "./support.js"

if (!isRoot) console.log("skipping runtime integration tests: they need root (namespaces, overlay mounts)")

const httpd = (replica: string, extra: Partial<ReplicaSpec> = {}, rootfs = ""): ReplicaSpec => ({
  service: "web",
  deployment: "d1",
  replica,
  rootfs,
  argv: ["/bin/httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www"],
  env: { PATH: "/bin" },
  port: 8080,
  ...extra
})

describe.skipIf(!isRoot)("LinuxRuntime (privileged)", () => {
  let env: Env
  beforeAll(async () => {
    env = await makeEnv()
  })
  afterAll(() => env.cleanup())

  /** Run a shell script in a fresh sandbox and return its stdout lines. */
  const runScript = (replica: string, script: string, extra: Partial<ReplicaSpec> = {}) =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const r = yield* rt.start({
        service: `sh-${replica}`,
        deployment: "d1",
        replica,
        rootfs: env.rootfs,
        argv: ["/bin/sh", "-c", script],
        env: { PATH: "/bin" },
        ...extra
      })
      const status = yield* r.exit
      const logs = yield* rt.logs(`sh-${replica}`, { lines: 1000 })
      yield* rt.stop(r)
      return { status, out: logText(logs.lines), err: logText(logs.lines, "stderr") }
    }).pipe(Effect.scoped, Effect.provide(env.layer))

  it.live("serves HTTP over the replica socket (busybox httpd → 200)", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const r = yield* rt.start(httpd("r1", {}, env.rootfs))
      expect(r.socketPath).not.toBeNull()
      const res = yield* httpGet(r.socketPath ?? "", "/index.html")
      expect(res.status).toBe(200)
      expect(res.body).toBe("hello from busybox\n")
      // busybox httpd listens with a backlog of 9: stay below it
      const many = yield* Effect.forEach(Array.from({ length: 40 }, (_, i) => i), () => httpGet(r.socketPath ?? "", "/"), {
        concurrency: 8
      })
      expect(many.every((m) => m.status === 200)).toBe(true)
      const list = yield* rt.list
      expect(list.map((x) => x.id)).toEqual(["web/d1/r1"])
      const stats = yield* rt.stats(r)
      expect(stats.pids).toBeGreaterThanOrEqual(3)
      expect(stats.memoryBytes).toBeGreaterThan(0)
      const status = yield* rt.status
      expect(stats.limitsEnforced).toBe(status.limitsEnforced)
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("strict sandbox (capabilities: []): user map, no privileges, seccomp, own hostname, only lo, few pids, masked /proc, no mount", () =>
    Effect.gen(function*() {
      const script = [
        "cat /proc/self/uid_map",
        "grep -E '^(NoNewPrivs|CapEff|CapBnd|CapPrm|Seccomp):' /proc/self/status",
        "echo host=$(hostname)",
        "echo ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ',')",
        "echo pids=$(ls /proc | grep -c '^[0-9][0-9]*$')",
        "if [ -e /proc/kcore ]; then echo kcore=$(wc -c < /proc/kcore); else echo kcore=absent; fi",
        "echo timer_list=$(cat /proc/timer_list | wc -c)",
        "echo keys=$(cat /proc/keys | wc -c)",
        "(echo c > /proc/sysrq-trigger) 2>/dev/null && echo sysrq=writable || echo sysrq=denied",
        "mount -t tmpfs none /tmp 2>/dev/null && echo mount=allowed || echo mount=denied",
        "unshare -U true 2>/dev/null && echo unshare=allowed || echo unshare=denied",
        "echo x > /dev/null && echo devnull=ok",
        "echo id=$(id -u):$(id -g)",
        "echo fds=$(ls /proc/self/fd | tr '\\n' ',')"
      ].join("; ")
      const { status, out } = yield* runScript("probe", script, { capabilities: [] })
      expect(status).toEqual({ code: 0, signal: null })
      expect(out[0]?.trim().split(/\s+/)).toEqual(["0", "100000", "65536"])
      const kv = Object.fromEntries(
        out.slice(1).map((l) => {
          const m = /^([^:=]+)[:=]\s*(.*)$/.exec(l)
          return [m?.[1] ?? l, m?.[2] ?? ""]
        })
      )
      expect(kv["NoNewPrivs"]).toBe("1")
      expect(kv["CapEff"]).toBe("0000000000000000")
      expect(kv["CapPrm"]).toBe("0000000000000000")
      expect(kv["CapBnd"]).toBe("0000000000000000")
      expect(kv["Seccomp"]).toBe("2")
      expect(kv["host"]).toBe("sh-probe-probe")
      expect(kv["ifaces"]).toBe("lo,")
      expect(Number(kv["pids"])).toBeLessThanOrEqual(6)
      expect(["absent", "0"]).toContain(kv["kcore"])
      expect(kv["timer_list"]).toBe("0")
      expect(kv["keys"]).toBe("0")
      expect(kv["sysrq"]).toBe("denied")
      expect(kv["mount"]).toBe("denied")
      expect(kv["unshare"]).toBe("denied")
      expect(kv["devnull"]).toBe("ok")
      expect(kv["id"]).toBe("0:0")
      // only stdio is inherited (3 is the directory ls is reading)
      expect(kv["fds"]).toBe("0,1,2,3,")
    }))

  it.live("runs as the manifest uid/gid with the given env (+ PORT and the HOSTNAME/HOME defaults)", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const r = yield* rt.start({
        service: "envsvc",
        deployment: "d1",
        replica: "r1",
        rootfs: env.rootfs,
        argv: ["/bin/sh", "-c", "id -u; id -g; env | sort; pwd"],
        env: { PATH: "/bin", GREETING: "hi there" },
        uid: 1000,
        gid: 1000,
        workdir: "/home",
        port: 9000,
        readiness: null
      })
      yield* r.exit
      const out = logText((yield* rt.logs("envsvc", { lines: 100 })).lines)
      expect(out[0]).toBe("1000")
      expect(out[1]).toBe("1000")
      const envLines = out.slice(2, -1).filter((l) => !l.startsWith("SHLVL=") && !l.startsWith("PWD="))
      // HOME is uid 1000's home in the image's /etc/passwd; explicit PATH wins over the default
      expect(envLines).toEqual(["GREETING=hi there", "HOME=/home", "HOSTNAME=envsvc-r1", "PATH=/bin", "PORT=9000"])
      expect(out[out.length - 1]).toBe("/home")
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("writes land in the replica's upper dir; the bundle stays unchanged", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const r = yield* rt.start({
        service: "writer",
        deployment: "d1",
        replica: "r1",
        rootfs: env.rootfs,
        argv: ["/bin/sh", "-c", "echo data > /etc/marker; echo t > /tmp/t; exec sleep 1000"],
        env: { PATH: "/bin" }
      })
      const upperMarker = path.join(r.dir, "upper", "etc", "marker")
      // the shell creates the file before it writes to it: wait for the contents, not only the name
      const written = () => fs.existsSync(upperMarker) && fs.readFileSync(upperMarker, "utf8") === "data\n"
      expect(yield* eventually(written)).toBe(true)
      expect(fs.statSync(upperMarker).uid).toBe(100000)
      expect(fs.existsSync(path.join(env.rootfs, "etc", "marker"))).toBe(false)
      expect(fs.existsSync(path.join(env.rootfs, "tmp", "t"))).toBe(false)
      // nothing of the sandbox is mounted in the host's namespace
      expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(r.dir)
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("two replicas of one bundle bind the same port and see only their own files", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const mk = (name: string) =>
        httpd(name, { argv: ["/bin/sh", "-c", `echo ${name} > /www/who && exec httpd -f -p 127.0.0.1:8080 -h /www`] }, env.rootfs)
      const [a, b] = yield* Effect.all([rt.start(mk("ra")), rt.start(mk("rb"))], { concurrency: 2 })
      const wa = yield* httpGet(a?.socketPath ?? "", "/who")
      const wb = yield* httpGet(b?.socketPath ?? "", "/who")
      expect(wa).toEqual({ status: 200, body: "ra\n" })
      expect(wb).toEqual({ status: 200, body: "rb\n" })
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("the relay carries large bodies intact over concurrent connections", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const r = yield* rt.start(
        httpd(
          "big",
          {
            argv: [
              "/bin/sh",
              "-c",
              "dd if=/dev/urandom of=/www/big bs=1024 count=2048 2>/dev/null && exec httpd -f -p 127.0.0.1:8080 -h /www"
            ]
          },
          env.rootfs
        )
      )
      const expected = fs.readFileSync(path.join(r.dir, "upper", "www", "big"))
      const bodies = yield* Effect.forEach(
        Array.from({ length: 8 }, (_, i) => i),
        () => httpGetBytes(r.socketPath ?? "", "/big"),
        { concurrency: 8 }
      )
      for (const b of bodies) expect(Buffer.compare(b, expected)).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("stop leaves no process, cgroup or dir behind", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const r = yield* rt.start(httpd("gone", {}, env.rootfs))
      const info = (yield* rt.list).find((x) => x.id === r.id)
      const cgroup = info?.cgroup ?? null
      const tree = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))
      const children = tree.filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]?.split(" ")[1] === String(r.pid)
        } catch {
          return false
        }
      })
      expect(children.length).toBe(1)
      yield* rt.stop(r)
      expect(pidAlive(r.pid)).toBe(false)
      expect(children.every((c) => !pidAlive(Number(c)))).toBe(true)
      expect(fs.existsSync(r.dir)).toBe(false)
      expect(fs.existsSync(path.join(env.dataDir, "runtime", "web"))).toBe(false)
      if (cgroup !== null) expect(fs.existsSync(cgroup)).toBe(false)
      expect(yield* rt.list).toEqual([])
      const again = yield* rt.stop(r).pipe(Effect.flip)
      expect(again._tag).toBe("denia/runtime/ReplicaNotFound")
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("a SIGTERM-ignoring workload is killed after the grace period", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const r = yield* rt.start({
        service: "stubborn",
        deployment: "d1",
        replica: "r1",
        rootfs: env.rootfs,
        argv: ["/bin/sh", "-c", "trap '' TERM; while true; do sleep 1; done"],
        env: { PATH: "/bin" }
      })
      yield* rt.stop(r)
      expect(pidAlive(r.pid)).toBe(false)
      expect(fs.existsSync(r.dir)).toBe(false)
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("runs a scratch-like image that holds nothing but one static binary", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const scratch = path.join(env.dir, "scratch")
      fs.mkdirSync(path.join(scratch, "bin"), { recursive: true })
      fs.copyFileSync(path.join(env.rootfs, "bin", "busybox"), path.join(scratch, "bin", "busybox"))
      fs.chmodSync(path.join(scratch, "bin", "busybox"), 0o755)
      const r = yield* rt.start({
        service: "scratch",
        deployment: "d1",
        replica: "r1",
        rootfs: scratch,
        argv: ["/bin/busybox", "sh", "-c", "/bin/busybox ls -a / | /bin/busybox tr '\\n' ' '"],
        env: {}
      })
      expect(yield* r.exit).toEqual({ code: 0, signal: null })
      const out = logText((yield* rt.logs("scratch")).lines)
      // etc/ holds only the generated hosts, hostname and resolv.conf
      expect(out[0]?.trim().split(" ").sort()).toEqual([".", "..", ".denia", "bin", "dev", "etc", "proc", "run", "sys", "tmp"])
      // the bundle itself was not touched
      expect(fs.readdirSync(scratch)).toEqual(["bin"])
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("exec failure reports stage exec and cleans up", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const err = yield* rt.start(httpd("bad", { argv: ["/bin/does-not-exist"] }, env.rootfs)).pipe(Effect.flip)
      expect(err._tag).toBe("denia/runtime/RuntimeLaunchError")
      if (err._tag === "denia/runtime/RuntimeLaunchError") {
        expect(err.stage).toBe("exec")
        expect(err.message).toMatch(/No such file/)
      }
      expect(fs.existsSync(path.join(env.dataDir, "runtime", "web", "d1", "bad"))).toBe(false)
      expect(yield* rt.list).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("a rootfs with /run -> /etc is refused before anything is written", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const evil = path.join(env.dir, "evil")
      fs.mkdirSync(evil)
      fs.cpSync(env.rootfs, evil, { recursive: true, verbatimSymlinks: true })
      fs.symlinkSync("/etc", path.join(evil, "run"))
      const before = fs.readdirSync("/etc").sort()
      const err = yield* rt.start(httpd("evil", {}, evil)).pipe(Effect.flip)
      expect(err._tag).toBe("denia/runtime/RuntimeLaunchError")
      if (err._tag === "denia/runtime/RuntimeLaunchError") expect(err.stage).toBe("rootfs")
      expect(fs.existsSync(path.join(env.dataDir, "runtime", "web", "d1", "evil"))).toBe(false)
      expect(fs.existsSync("/etc/denia")).toBe(false)
      expect(fs.readdirSync("/etc").sort()).toEqual(before)
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("invalid names never become paths", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const err = yield* rt.start(httpd("../../etc", {}, env.rootfs)).pipe(Effect.flip)
      expect(err._tag).toBe("denia/runtime/InvalidRuntimeName")
      const err2 = yield* rt.logs("../x").pipe(Effect.flip)
      expect(err2._tag).toBe("denia/runtime/InvalidRuntimeName")
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("service logs rotate at the size cap", () =>
    Effect.gen(function*() {
      const small = yield* Effect.promise(() => makeEnv({ logMaxBytes: 4096 }))
      yield* Effect.gen(function*() {
        const rt = yield* Runtime
        const r = yield* rt.start({
          service: "chatty",
          deployment: "d1",
          replica: "r1",
          rootfs: small.rootfs,
          argv: ["/bin/sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done"],
          env: { PATH: "/bin" }
        })
        yield* r.exit
        yield* rt.stop(r)
        const logs = yield* rt.logs("chatty", { lines: 5 })
        expect(logText(logs.lines)).toEqual(["line-295", "line-296", "line-297", "line-298", "line-299"])
        expect(fs.statSync(logs.path).size).toBeLessThanOrEqual(4096)
        expect(fs.existsSync(`${logs.path}.1`)).toBe(true)
      }).pipe(Effect.scoped, Effect.provide(small.layer), Effect.ensuring(Effect.sync(() => small.cleanup())))
    }))
})
