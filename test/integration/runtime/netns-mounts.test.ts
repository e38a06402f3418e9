/** Joining a network namespace the node network configured (`netnsPath`) and bind-mounting host
 * directories (`mounts`), with the symlink refusals that keep both inside the replica. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { Runtime } from "../../../src/runtime/Runtime.js"
import type { ReplicaSpec } from "../../../src/runtime/types.js"
import { type Env, httpGet, isRoot, logText, makeEnv, USERNS_BASE } from "./support.js"

const hasIp = (() => {
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

const ip = (...args: Array<string>) => execFileSync("ip", args, { encoding: "utf8" })

describe.skipIf(!isRoot)("netnsPath and mounts (privileged)", () => {
  let env: Env
  beforeAll(async () => {
    env = await makeEnv()
  })
  afterAll(() => env.cleanup())

  const spec = (service: string, script: string, extra: Partial<ReplicaSpec> = {}): ReplicaSpec => ({
    service,
    deployment: "d1",
    replica: "r1",
    rootfs: env.rootfs,
    argv: ["/bin/sh", "-c", script],
    env: { PATH: "/bin" },
    ...extra
  })

  it.live.skipIf(!hasIp)("joins the given network namespace: its addresses, low ports and the relay work there", () => {
    const name = `denia-test-${crypto.randomBytes(4).toString("hex")}`
    const hostPortStart = fs.readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8")
    return Effect.gen(function*() {
      ip("netns", "add", name)
      ip("-n", name, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
      ip("-n", name, "addr", "add", "10.123.45.6/24", "dev", "d0")
      ip("-n", name, "link", "set", "d0", "up")
      ip("-n", name, "link", "set", "d1", "up")
      ip("-n", name, "link", "set", "lo", "up")
      const rt = yield* Runtime
      const netnsPath = `/run/netns/${name}`
      const probe = yield* rt.start(
        spec(
          "netns-probe",
          "grep -c 10.123.45.6 /proc/net/fib_trie; cat /proc/sys/net/ipv4/ip_unprivileged_port_start; " +
            "echo ping=$(cat /proc/sys/net/ipv4/ping_group_range); " +
            "echo ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ',')",
          { netnsPath }
        )
      )
      expect(yield* probe.exit).toEqual({ code: 0, signal: null })
      const out = logText((yield* rt.logs("netns-probe")).lines)
      expect(Number(out[0])).toBeGreaterThan(0)
      // the replica's own gids (0..65535 as it sees them) may ping without NET_RAW
      expect(out.slice(1)).toEqual(["0", "ping=0 65535", "ifaces=d0,d1,lo,"])
      yield* rt.stop(probe)
      // a non-root server on port 80 in the joined namespace, reached through the replica socket
      const web = yield* rt.start({
        ...spec("netns-web", ""),
        argv: ["/bin/httpd", "-f", "-p", "80", "-h", "/www"],
        uid: 1000,
        gid: 1000,
        port: 80,
        netnsPath
      })
      expect(yield* httpGet(web.socketPath ?? "", "/index.html")).toEqual({ status: 200, body: "hello from busybox\n" })
      // the namespace and the host keep what they had
      expect(fs.readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8")).toBe(hostPortStart)
    }).pipe(
      Effect.scoped,
      Effect.provide(env.layer),
      Effect.ensuring(Effect.sync(() => ip("netns", "delete", name)))
    )
  })

  it.live("a netnsPath that is not a network namespace, or is the host's, fails the launch at stage network", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const notNs = path.join(env.dir, "not-a-netns")
      fs.writeFileSync(notNs, "")
      const err = yield* rt.start(spec("netns-bad", "true", { netnsPath: notNs })).pipe(Effect.flip)
      expect(err._tag).toBe("denia/runtime/RuntimeLaunchError")
      if (err._tag === "denia/runtime/RuntimeLaunchError") {
        expect(err.stage).toBe("network")
        expect(err.message).toMatch(/^setns /)
      }
      // the host's own namespace is never joined
      const host = yield* rt.start(spec("netns-host", "true", { netnsPath: "/proc/self/ns/net" })).pipe(Effect.flip)
      expect(host._tag).toBe("denia/runtime/RuntimeLaunchError")
      if (host._tag === "denia/runtime/RuntimeLaunchError") {
        expect(host.stage).toBe("network")
        expect(host.message).toMatch(/is the host's network namespace: refused$/)
      }
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("binds host directories read-write and read-only, nosuid and nodev, creating targets", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const vol = path.join(env.dir, "vol")
      const conf = path.join(env.dir, "conf")
      for (const d of [vol, conf]) {
        fs.mkdirSync(d)
        fs.chownSync(d, USERNS_BASE, USERNS_BASE)
      }
      fs.writeFileSync(path.join(conf, "app.conf"), "answer=42\n")
      const r = yield* rt.start(
        spec(
          "mounts",
          "echo written > /var/lib/data/new; cat /etc/app/app.conf; (echo x > /etc/app/x) 2>/dev/null && echo ro=no || echo ro=yes; " +
            "grep -E ' /(var/lib/data|etc/app) ' /proc/mounts | cut -d' ' -f2,4 | tr ',' ' '",
          {
            mounts: [
              { source: vol, target: "/var/lib/data", readOnly: false },
              { source: conf, target: "/etc/app", readOnly: true }
            ]
          }
        )
      )
      expect(yield* r.exit).toEqual({ code: 0, signal: null })
      const out = logText((yield* rt.logs("mounts")).lines)
      expect(out.slice(0, 2)).toEqual(["answer=42", "ro=yes"])
      const opts = Object.fromEntries(out.slice(2).map((l) => [l.split(" ")[0], l.split(" ").slice(1)]))
      expect(opts["/var/lib/data"]).toEqual(expect.arrayContaining(["rw", "nosuid", "nodev"]))
      expect(opts["/etc/app"]).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev"]))
      expect(fs.readFileSync(path.join(vol, "new"), "utf8")).toBe("written\n")
      expect(fs.existsSync(path.join(conf, "x"))).toBe(false)
      yield* rt.stop(r)
      expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(vol)
    }).pipe(Effect.scoped, Effect.provide(env.layer)))

  it.live("a mount target through a symlink (to / or ..) or a symlinked source is refused naming mounts; nothing is mounted", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const vol = path.join(env.dir, "vol2")
      fs.mkdirSync(vol)
      const evil = path.join(env.dir, "evil-mounts")
      fs.mkdirSync(evil)
      fs.cpSync(env.rootfs, evil, { recursive: true, verbatimSymlinks: true })
      fs.symlinkSync("/", path.join(evil, "data"))
      fs.symlinkSync("..", path.join(evil, "var", "up"))
      const sourceLink = path.join(env.dir, "vol-link")
      fs.symlinkSync(vol, sourceLink)
      const marker = `denia-mount-escape-${crypto.randomBytes(4).toString("hex")}`
      const cases: Array<[string, string]> = [
        [vol, `/data/${marker}`],
        [vol, `/var/up/up/${marker}`],
        [sourceLink, "/srv"]
      ]
      for (const [i, [source, target]] of cases.entries()) {
        const err = yield* rt.start({
          ...spec(`mnt-evil-${i}`, "true"),
          rootfs: evil,
          mounts: [{ source, target, readOnly: false }]
        }).pipe(Effect.flip)
        expect(err._tag).toBe("denia/runtime/RuntimeLaunchError")
        if (err._tag === "denia/runtime/RuntimeLaunchError") {
          expect(err.stage).toBe("mounts")
          expect(err.message).toMatch(/symlink in path refused/)
        }
      }
      expect(fs.existsSync(`/${marker}`)).toBe(false)
      expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(vol)
      expect(fs.existsSync(path.join(env.dataDir, "runtime", "mnt-evil-0"))).toBe(false)
    }).pipe(Effect.scoped, Effect.provide(env.layer)))
})
