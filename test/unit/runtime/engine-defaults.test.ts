import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { capabilityMask } from "../../../src/runtime/capabilities.js"
import { generateEtcFiles, readSmallFile, resolvConfFromHost } from "../../../src/runtime/etcFiles.js"
import { exitReason } from "../../../src/runtime/exitStatus.js"
import { DEFAULT_PATH, envDefaults, homeOf, MAX_PASSWD_BYTES, readRootfsPasswd } from "../../../src/runtime/imageEnv.js"
import { replicaDirs } from "../../../src/runtime/paths.js"
import { toLaunchSpec, validateSpec } from "../../../src/runtime/spec.js"
import { ADDABLE_CAPABILITIES, DEFAULT_CAPABILITIES, type ReplicaSpec } from "../../../src/runtime/types.js"

const base: ReplicaSpec = {
  service: "web",
  deployment: "d1",
  replica: "r1",
  rootfs: "/bundles/b1",
  argv: ["/bin/httpd", "-f"],
  env: { A: "1" },
  port: 8080
}

describe("capabilities", () => {
  it("the engine default set is mask 0xa80425fb; masks are exact sums of the named bits", () => {
    expect(capabilityMask(DEFAULT_CAPABILITIES)).toBe(0xa80425fb)
    expect(capabilityMask([])).toBe(0)
    expect(capabilityMask(["CHOWN", "NET_BIND_SERVICE", "CHOWN"])).toBe(0x401)
    expect(capabilityMask(["AUDIT_READ"])).toBe(2 ** 37)
    // every addable capability has its own bit outside the default set
    for (const c of ADDABLE_CAPABILITIES) {
      const bit = capabilityMask([c])
      expect(bit).toBeGreaterThan(0)
      expect(capabilityMask([...DEFAULT_CAPABILITIES, c])).toBe(0xa80425fb + bit)
    }
  })
})

describe("replica spec: engine fields", () => {
  it.effect("bad values are refused naming the field", () =>
    Effect.gen(function*() {
      yield* validateSpec(
        {
          ...base,
          capabilities: ["CHOWN", "NET_ADMIN"],
          stopSignal: 3,
          shmBytes: 1 << 20,
          nofile: { soft: 1024, hard: 65536 },
          netnsPath: "/run/netns/x",
          mounts: [{ source: "/srv/vol", target: "/data", readOnly: false }]
        },
        65536
      )
      const cases: Array<[Partial<ReplicaSpec>, string]> = [
        [{ capabilities: ["SYS_ADMIN" as never] }, "capabilities"],
        [{ capabilities: ["BPF" as never] }, "capabilities"],
        [{ stopSignal: 0 }, "stopSignal"],
        [{ stopSignal: 19 }, "stopSignal"],
        [{ stopSignal: 65 }, "stopSignal"],
        [{ shmBytes: 0 }, "shmBytes"],
        [{ shmBytes: 1.5 }, "shmBytes"],
        [{ nofile: { soft: 2048, hard: 1024 } }, "nofile"],
        [{ nofile: { soft: 1, hard: 2 ** 21 } }, "nofile"],
        [{ etcFiles: { hosts: "a\0b", hostname: "h", resolvConf: "" } }, "etcFiles.hosts"],
        [{ netnsPath: "run/netns/x" }, "netnsPath"],
        [{ netnsPath: "/run/netns/../x" }, "netnsPath"],
        [{ mounts: [{ source: "rel", target: "/data", readOnly: false }] }, "mounts[0].source"],
        [{ mounts: [{ source: "/", target: "/data", readOnly: false }] }, "mounts[0].source"],
        [{ mounts: [{ source: "/srv", target: "/", readOnly: false }] }, "mounts[0].target"],
        [{ mounts: [{ source: "/srv", target: "/a/../b", readOnly: false }] }, "mounts[0].target"],
        [{ mounts: [{ source: "/srv", target: "/proc/x", readOnly: false }] }, "mounts[0].target"],
        [{ mounts: [{ source: "/srv", target: "/etc/hosts", readOnly: true }] }, "mounts[0].target"],
        [{ mounts: [{ source: "/srv", target: "/etc", readOnly: true }] }, "mounts[0].target"],
        [{ mounts: [{ source: "/srv", target: "/run", readOnly: true }] }, "mounts[0].target"],
        [
          {
            mounts: [
              { source: "/a", target: "/data", readOnly: false },
              { source: "/b", target: "/data", readOnly: false }
            ]
          },
          "mounts[1].target"
        ]
      ]
      for (const [patch, field] of cases) {
        const err = yield* validateSpec({ ...base, ...patch }, 65536).pipe(Effect.flip)
        expect(err.field).toBe(field)
        expect(err.message.startsWith(field)).toBe(true)
      }
    }))

  it("translates the engine fields; explicit env wins over the defaults", () => {
    const dirs = replicaDirs("/data", base)
    const ls = toLaunchSpec(
      {
        ...base,
        env: { A: "1", HOME: "/mine" },
        capabilities: [],
        stopSignal: 3,
        shmBytes: 1 << 20,
        nofile: { soft: 10, hard: 20 },
        netnsPath: "/run/netns/n1",
        mounts: [
          { source: "/srv/a", target: "/data", readOnly: false },
          { source: "/srv/b", target: "/conf", readOnly: true }
        ]
      },
      dirs,
      null,
      { base: 100000, size: 65536 },
      {
        envDefaults: { HOSTNAME: "web-r1", HOME: "/root", PATH: DEFAULT_PATH, PORT: "1" },
        etc: { hosts: "/e/hosts", hostname: "/e/hostname", resolvConf: "/e/resolv.conf" }
      }
    )
    expect(ls.env).toEqual(["A=1", "HOME=/mine", "HOSTNAME=web-r1", `PATH=${DEFAULT_PATH}`, "PORT=8080"])
    expect(ls).toMatchObject({
      capMask: 0,
      stopSignal: 3,
      shmBytes: 1 << 20,
      nofileSoft: 10,
      nofileHard: 20,
      etcHosts: "/e/hosts",
      etcHostname: "/e/hostname",
      etcResolvConf: "/e/resolv.conf",
      netnsPath: "/run/netns/n1",
      mounts: ["rw", "/srv/a", "/data", "ro", "/srv/b", "/conf"]
    })
  })
})

describe("/etc files", () => {
  it("hosts and hostname carry localhost and the replica's own name", () => {
    const f = generateEtcFiles({ hostname: "web-r1", hostResolvConf: "nameserver 192.0.2.1\n" })
    expect(f.hosts).toBe("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tweb-r1\n")
    expect(f.hostname).toBe("web-r1\n")
    expect(generateEtcFiles({ hostname: "a", address: "10.89.0.7", hostResolvConf: null }).hosts).toContain("10.89.0.7\ta\n")
  })

  it("resolv.conf keeps the host's reachable resolvers, search and options; loopback ones are dropped and said so", () => {
    expect(resolvConfFromHost("# c\nnameserver 192.0.2.1\nnameserver 127.0.0.53\nsearch example.org\noptions ndots:2\n")).toBe(
      "nameserver 192.0.2.1\nsearch example.org\noptions ndots:2\n"
    )
    const onlyLoopback = resolvConfFromHost("nameserver 127.0.0.53\nnameserver ::1\nsearch lan\n")
    expect(onlyLoopback).toBe(
      "# the host's resolvers (127.0.0.53, ::1) are on its loopback, unreachable from a replica: none configured\nsearch lan\n"
    )
    expect(resolvConfFromHost(null)).toMatch(/^# .*no resolvers configured\n$/)
  })
})

describe("env defaults from the image", () => {
  const passwd = "root:x:0:0:root:/root:/bin/sh\nbroken\nweird:x:5:5::relative:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"

  it("HOME comes from the uid's passwd entry, else /; HOSTNAME and PATH are filled; explicit keys are left alone", () => {
    expect(homeOf(passwd, 1000)).toBe("/home/app")
    expect(homeOf(passwd, 5)).toBeNull()
    expect(homeOf(passwd, 42)).toBeNull()
    expect(envDefaults({}, "h", 1000, passwd)).toEqual({ HOSTNAME: "h", HOME: "/home/app", PATH: DEFAULT_PATH })
    expect(envDefaults({}, "h", 42, passwd)).toEqual({ HOSTNAME: "h", HOME: "/", PATH: DEFAULT_PATH })
    expect(envDefaults({}, "h", 0, null)).toEqual({ HOSTNAME: "h", HOME: "/", PATH: DEFAULT_PATH })
    expect(envDefaults({ PATH: "/x", HOME: "/y", HOSTNAME: "z" }, "h", 0, passwd)).toEqual({})
  })

  it("the rootfs passwd is read without following symlinks and with a size cap", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-passwd-"))
    try {
      const secret = path.join(dir, "secret")
      fs.writeFileSync(secret, "root:x:0:0:root:/leaked:/bin/sh\n")
      const a = path.join(dir, "a")
      fs.mkdirSync(path.join(a, "etc"), { recursive: true })
      fs.symlinkSync(secret, path.join(a, "etc", "passwd"))
      expect(readRootfsPasswd(a)).toBeNull()
      const b = path.join(dir, "b")
      fs.mkdirSync(b)
      fs.symlinkSync(path.join(dir, "a", "etc"), path.join(b, "etc"))
      expect(readRootfsPasswd(b)).toBeNull()
      const c = path.join(dir, "c")
      fs.mkdirSync(path.join(c, "etc"), { recursive: true })
      fs.writeFileSync(path.join(c, "etc", "passwd"), "x".repeat(MAX_PASSWD_BYTES + 10))
      expect(readRootfsPasswd(c)?.length).toBe(MAX_PASSWD_BYTES)
      fs.mkdirSync(path.join(c, "etc", "dir"))
      expect(readSmallFile(path.join(c, "etc", "dir"))).toBeNull()
      expect(readSmallFile(path.join(c, "missing"))).toBeNull()
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("exit status in words", () => {
  it("names the code, the signal or the OOM kill, and the last stderr line", () => {
    expect(exitReason({ code: 1, signal: null, lastStderr: "chown failed" })).toBe("workload exited (code 1): chown failed")
    expect(exitReason({ code: null, signal: 15 })).toBe("workload killed by signal 15 (SIGTERM)")
    expect(exitReason({ code: null, signal: 9, oomKilled: true }, undefined, " before it was ready")).toBe(
      "workload killed by the kernel OOM killer before it was ready"
    )
    expect(exitReason({ code: 2, signal: null, lastStderr: "x" }, undefined, " before it was ready")).toBe(
      "workload exited (code 2) before it was ready: x"
    )
  })
})
