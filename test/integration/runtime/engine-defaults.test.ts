/** What real images expect from a container engine (issue 16): capabilities inside the user namespace,
 * stdio pipes, /etc files and env defaults, /dev/shm, RLIMIT_NOFILE, low ports, the stop signal. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { Runtime } from "../../../src/runtime/Runtime.js"
import type { ReplicaSpec } from "../../../src/runtime/types.js"
import { buildBusyboxRootfs } from "../../support/busybox-rootfs.js"
import { type Env, eventually, httpGet, isRoot, logText, makeEnv, USERNS_BASE } from "./support.js"

const DEFAULT_MASK = "00000000a80425fb"

/** `Key: value` / `key=value` lines → record. */
const keyValues = (lines: ReadonlyArray<string>): Record<string, string> =>
  Object.fromEntries(
    lines.map((l) => {
      const m = /^([^:=]+)[:=]\s*(.*)$/.exec(l)
      return [m?.[1] ?? l, m?.[2] ?? ""]
    })
  )

/** Hard RLIMIT_NOFILE of this (root) test process and whether it may raise it (CAP_SYS_RESOURCE). */
const hostNofile = () => {
  const limits = fs.readFileSync("/proc/self/limits", "utf8")
  const m = /^Max open files\s+\d+\s+(\d+)/m.exec(limits)
  const capEff = /^CapEff:\s+([0-9a-f]+)$/m.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0"
  return { hard: Number(m?.[1] ?? 0), canRaise: (BigInt(`0x${capEff}`) >> 24n) % 2n === 1n }
}

describe.skipIf(!isRoot)("engine defaults real images rely on (privileged)", () => {
  let env: Env
  beforeAll(async () => {
    env = await makeEnv()
  })
  afterAll(() => env.cleanup())

  const run = (service: string, script: string, extra: Partial<ReplicaSpec> = {}) =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const r = yield* rt.start({
        service,
        deployment: "d1",
        replica: "r1",
        rootfs: env.rootfs,
        argv: ["/bin/sh", "-c", script],
        env: { PATH: "/bin" },
        ...extra
      })
      const status = yield* r.exit
      const logs = yield* rt.logs(service, { lines: 1000 })
      yield* rt.stop(r)
      return { status, out: logText(logs.lines), err: logText(logs.lines, "stderr") }
    }).pipe(Effect.scoped, Effect.provide(env.layer))

  it.live("root gets the engine default capabilities in its namespace: chown and dropping to a user work, the walls stay", () =>
    Effect.gen(function*() {
      const script = [
        "grep -E '^(NoNewPrivs|CapEff|CapPrm|CapInh|CapBnd|CapAmb|Seccomp):' /proc/self/status",
        "chown 1000:1000 /www/index.html && echo chown=$(stat -c %u:%g /www/index.html)",
        "echo su=$(su -s /bin/sh -c 'echo $(id -u):$(id -g):$(grep CapEff /proc/self/status | cut -f2)' app)",
        "mount -t tmpfs none /tmp 2>/dev/null && echo mount=allowed || echo mount=denied",
        "(echo 1 > /sys/kernel/profiling) 2>/dev/null && echo sys=writable || echo sys=denied",
        "if [ -e /proc/kcore ]; then echo kcore=$(wc -c < /proc/kcore); else echo kcore=absent; fi",
        "unshare -U true 2>/dev/null && echo unshare=allowed || echo unshare=denied",
        "chroot / true 2>/dev/null && echo chroot=allowed || echo chroot=denied",
        "mknod /tmp/sda b 8 0 2>/dev/null && (head -c1 /tmp/sda >/dev/null 2>&1 && echo dev=readable || echo dev=unusable) || echo dev=unusable"
      ].join("; ")
      const { status, out } = yield* run("caps-root", script)
      expect(status).toEqual({ code: 0, signal: null })
      const kv = keyValues(out)
      expect(kv["CapEff"]).toBe(DEFAULT_MASK)
      expect(kv["CapPrm"]).toBe(DEFAULT_MASK)
      expect(kv["CapInh"]).toBe(DEFAULT_MASK)
      expect(kv["CapBnd"]).toBe(DEFAULT_MASK)
      expect(kv["CapAmb"]).toBe("0000000000000000")
      expect(kv["NoNewPrivs"]).toBe("1")
      expect(kv["Seccomp"]).toBe("2")
      expect(kv["chown"]).toBe("1000:1000")
      expect(kv["su"]).toBe("1000:1000:0000000000000000")
      expect(kv["mount"]).toBe("denied")
      expect(kv["sys"]).toBe("denied")
      expect(["absent", "0"]).toContain(kv["kcore"])
      expect(kv["unshare"]).toBe("denied")
      // SYS_CHROOT is kept, so seccomp lets chroot through (into the replica's own tree)
      expect(kv["chroot"]).toBe("allowed")
      expect(kv["dev"]).toBe("unusable")
    }))

  it.live("a non-root uid has nothing in effect; the bounding set keeps the default", () =>
    Effect.gen(function*() {
      const script = [
        "grep -E '^(NoNewPrivs|CapEff|CapPrm|CapBnd|CapAmb|Seccomp):' /proc/self/status",
        "chown 0:0 /tmp 2>/dev/null && echo chown=allowed || echo chown=denied"
      ].join("; ")
      const { status, out } = yield* run("caps-user", script, { uid: 1000, gid: 1000 })
      expect(status).toEqual({ code: 0, signal: null })
      const kv = keyValues(out)
      expect(kv["CapEff"]).toBe("0000000000000000")
      expect(kv["CapPrm"]).toBe("0000000000000000")
      expect(kv["CapAmb"]).toBe("0000000000000000")
      expect(kv["CapBnd"]).toBe(DEFAULT_MASK)
      expect(kv["NoNewPrivs"]).toBe("1")
      expect(kv["Seccomp"]).toBe("2")
      expect(kv["chown"]).toBe("denied")
    }))

  it.live("an explicit capability list is exactly what root keeps", () =>
    Effect.gen(function*() {
      const script = "grep -E '^(CapEff|CapBnd):' /proc/self/status; " +
        "chroot / true 2>/dev/null && echo chroot=allowed || echo chroot=denied"
      const { out } = yield* run("caps-list", script, { capabilities: ["CHOWN", "NET_BIND_SERVICE"] })
      const kv = keyValues(out)
      expect(kv["CapEff"]).toBe("0000000000000401")
      expect(kv["CapBnd"]).toBe("0000000000000401")
      expect(kv["chroot"]).toBe("denied")
    }))

  it.live("stdout/stderr are pipes that /dev/stdout and /dev/stderr reopen, as root and as another uid", () =>
    Effect.gen(function*() {
      const script = "echo to-stdout > /dev/stdout && echo to-stderr > /dev/stderr && echo kind=$(stat -L -c %F /proc/self/fd/1)" +
        " && echo stdin=$(readlink /proc/self/fd/0)"
      for (const [service, uid] of [["stdio-root", 0], ["stdio-user", 1000]] as const) {
        const { status, out, err } = yield* run(service, script, { uid, gid: uid })
        expect(status).toEqual({ code: 0, signal: null, lastStderr: "to-stderr" })
        expect(out).toContain("to-stdout")
        expect(err).toContain("to-stderr")
        expect(out).toContain("kind=fifo")
        expect(out).toContain("stdin=/dev/null")
      }
      // gosu pattern: the entrypoint starts as root and drops to a user that opens /dev/stderr itself
      const dropped = yield* run("stdio-drop", "su -s /bin/sh -c 'echo from-app > /dev/stderr; id -u > /dev/stdout' app")
      expect(dropped.status).toEqual({ code: 0, signal: null, lastStderr: "from-app" })
      expect(dropped.out).toEqual(["1000"])
    }))

  it.live("nothing is lost at exit: the last lines before a crash are in the log and in lastStderr", () =>
    Effect.gen(function*() {
      const script = "i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done; echo 'fatal: last words' >&2; kill -9 $$"
      const { status, out } = yield* run("crash", script)
      expect(status).toEqual({ code: null, signal: 9, lastStderr: "fatal: last words" })
      expect(out.length).toBe(500)
      expect(out[499]).toBe("line-499")
      const exited = yield* run("crash-code", "echo bye >&2; exit 3")
      expect(exited.status).toEqual({ code: 3, signal: null, lastStderr: "bye" })
    }))

  it.live("directories the runtime creates in a bare image belong to the namespace's root", () =>
    Effect.gen(function*() {
      const bare = path.join(env.dir, "bare")
      fs.mkdirSync(path.join(bare, "bin"), { recursive: true })
      fs.copyFileSync(path.join(env.rootfs, "bin", "busybox"), path.join(bare, "bin", "busybox"))
      fs.chmodSync(path.join(bare, "bin", "busybox"), 0o755)
      fs.chownSync(bare, USERNS_BASE, USERNS_BASE)
      const script = "/bin/busybox touch /run/app.pid /etc/app.conf && /bin/busybox stat -c '%n %u' /run /etc"
      const { status, out } = yield* run("bare", "", { rootfs: bare, env: {}, argv: ["/bin/busybox", "sh", "-c", script] })
      expect(status).toEqual({ code: 0, signal: null })
      expect(out).toEqual(["/run 0", "/etc 0"])
    }))

  it.live("generated /etc/hosts, /etc/hostname, /etc/resolv.conf are read-only; env defaults from the image", () =>
    Effect.gen(function*() {
      const script = [
        "cat /etc/hosts /etc/hostname",
        "echo ---",
        "cat /etc/resolv.conf",
        "echo ---",
        "(echo x >> /etc/hosts) 2>/dev/null && echo hosts=writable || echo hosts=readonly",
        "echo HOSTNAME=$HOSTNAME HOME=$HOME PATH=$PATH"
      ].join("; ")
      const { status, out } = yield* run("etc", script, { env: {}, hostname: "myhost" })
      expect(status).toEqual({ code: 0, signal: null })
      const [etc = [], resolv = [], rest = []] = out.join("\n").split("\n---\n").map((s) => s.split("\n"))
      expect(etc).toEqual(["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", "127.0.1.1\tmyhost", "myhost"])
      const hostServers = (fs.readFileSync("/etc/resolv.conf", "utf8").match(/^nameserver\s+\S+/gm) ?? [])
        .map((l) => l.split(/\s+/)[1] ?? "")
      const reachable = hostServers.filter((a) => !a.startsWith("127.") && a !== "::1")
      expect(resolv.filter((l) => l.startsWith("nameserver ")).map((l) => l.slice(11))).toEqual(reachable)
      if (reachable.length === 0) expect(resolv[0]).toMatch(/^# .*none configured$/)
      expect(rest).toContain("hosts=readonly")
      expect(rest).toContain("HOSTNAME=myhost HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
      // explicit values win, and etcFiles replaces the generated contents
      const custom = yield* run("etc-custom", "cat /etc/hosts /etc/resolv.conf; echo HOME=$HOME HOSTNAME=$HOSTNAME", {
        env: { PATH: "/bin", HOME: "/srv", HOSTNAME: "given" },
        etcFiles: { hosts: "10.0.0.5\tpeer\n", hostname: "h\n", resolvConf: "nameserver 10.89.0.1\n" }
      })
      expect(custom.out).toEqual(["10.0.0.5\tpeer", "nameserver 10.89.0.1", "HOME=/srv HOSTNAME=given"])
    }))

  it.live("a symlinked /etc/resolv.conf is replaced inside the replica, never followed; a symlinked /etc is refused", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const victim = path.join(env.dir, "victim")
      fs.writeFileSync(victim, "host file\n")
      const linked = yield* Effect.promise(() =>
        buildBusyboxRootfs(path.join(env.dir, "linked"), {
          owner: USERNS_BASE,
          symlinks: { "etc/resolv.conf": victim, "etc/hostname": "../../../../victim" }
        })
      )
      const r = yield* rt.start({
        service: "linked",
        deployment: "d1",
        replica: "r1",
        rootfs: linked,
        argv: ["/bin/sh", "-c", "cat /etc/hostname; (echo pwned > /etc/resolv.conf) 2>/dev/null; ls -l /etc/resolv.conf | cut -c1"],
        env: { PATH: "/bin" },
        hostname: "safe"
      })
      yield* r.exit
      expect(logText((yield* rt.logs("linked")).lines)).toEqual(["safe", "-"])
      expect(fs.readFileSync(victim, "utf8")).toBe("host file\n")
      expect(fs.readlinkSync(path.join(linked, "etc", "resolv.conf"))).toBe(victim)
      yield* rt.stop(r)

      const evil = path.join(env.dir, "etc-link")
      fs.mkdirSync(evil)
      fs.cpSync(env.rootfs, evil, { recursive: true, verbatimSymlinks: true })
      fs.rmSync(path.join(evil, "etc"), { recursive: true })
      const hostEtc = path.join(env.dir, "host-etc")
      fs.mkdirSync(hostEtc)
      fs.symlinkSync(hostEtc, path.join(evil, "etc"))
      const err = yield* rt.start({
        service: "etclink",
        deployment: "d1",
        replica: "r1",
        rootfs: evil,
        argv: ["/bin/true"],
        env: {}
      }).pipe(Effect.flip)
      expect(err._tag).toBe("denia/runtime/RuntimeLaunchError")
      if (err._tag === "denia/runtime/RuntimeLaunchError") {
        expect(err.stage).toBe("etc files")
        expect(err.message).toMatch(/symlink/)
      }
      expect(fs.readdirSync(hostEtc)).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("/dev/shm has the given size; RLIMIT_NOFILE defaults to 1024 soft and at least 65536 hard where the host allows", () =>
    Effect.gen(function*() {
      const script = "grep ' /dev/shm ' /proc/mounts | grep -o 'size=[0-9]*k'; echo soft=$(ulimit -Sn) hard=$(ulimit -Hn)"
      const dflt = yield* run("limits", script)
      const host = hostNofile()
      const hard = host.hard >= 65536 ? host.hard : host.canRaise ? 65536 : host.hard
      expect(dflt.out).toEqual(["size=65536k", `soft=1024 hard=${hard}`])
      const custom = yield* run("limits-custom", script, { shmBytes: 16 * 1024 * 1024, nofile: { soft: 512, hard: 4096 } })
      expect(custom.out).toEqual(["size=16384k", "soft=512 hard=4096"])
    }))

  it.live("a non-root workload listens on port 80 and readiness works over the socket", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const r = yield* rt.start({
        service: "low",
        deployment: "d1",
        replica: "r1",
        rootfs: env.rootfs,
        argv: ["/bin/httpd", "-f", "-p", "80", "-h", "/www"],
        env: { PATH: "/bin" },
        uid: 1000,
        gid: 1000,
        port: 80
      })
      const res = yield* httpGet(r.socketPath ?? "", "/index.html")
      expect(res).toEqual({ status: 200, body: "hello from busybox\n" })
      const sysctl = yield* run(
        "sysctls",
        "cat /proc/sys/net/ipv4/ip_unprivileged_port_start; echo $(cat /proc/sys/net/ipv4/ping_group_range)"
      )
      expect(sysctl.out).toEqual(["0", "0 65535"])
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("a workload that dies while readiness is probed fails start at once, saying how it ended", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const err = yield* rt.start({
        service: "dies",
        deployment: "d1",
        replica: "r1",
        rootfs: env.rootfs,
        argv: ["/bin/sh", "-c", "echo 'bind: address in use' >&2; exit 1"],
        env: { PATH: "/bin" },
        port: 8080,
        readiness: { timeoutMs: 600_000 }
      }).pipe(Effect.flip)
      expect(err._tag).toBe("denia/runtime/ReadinessTimeout")
      expect(err.message).toBe("workload exited (code 1) before it was ready: bind: address in use")
      expect(yield* rt.list).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("stop sends the stop signal instead of SIGTERM", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const script = "trap 'echo got-QUIT; exit 0' QUIT; trap 'echo got-TERM; exit 0' TERM; echo armed; " +
        "while true; do sleep 1 & wait $!; done"
      for (const [service, stopSignal, expected] of [["sig-quit", 3, "got-QUIT"], ["sig-term", undefined, "got-TERM"]] as const) {
        const r = yield* rt.start({
          service,
          deployment: "d1",
          replica: "r1",
          rootfs: env.rootfs,
          argv: ["/bin/sh", "-c", script],
          env: { PATH: "/bin" },
          ...(stopSignal === undefined ? {} : { stopSignal })
        })
        const logPath = (yield* rt.logs(service)).path
        expect(yield* eventually(() => fs.existsSync(logPath) && fs.readFileSync(logPath, "utf8").includes("armed"), 1000)).toBe(
          true
        )
        yield* rt.stop(r)
        expect(yield* r.exit).toEqual({ code: 0, signal: null })
        const out = logText((yield* rt.logs(service)).lines)
        expect(out).toEqual(["armed", expected])
      }
    }).pipe(Effect.scoped, Effect.provide(env.layer)))
})
