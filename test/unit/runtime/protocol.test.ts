import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { parseStatusLine } from "../../../src/runtime/helperProcess.js"
import { isRuntimeName, validateRef } from "../../../src/runtime/names.js"
import { replicaDirs } from "../../../src/runtime/paths.js"
import { parseStat } from "../../../src/runtime/procfs.js"
import { defaultHostname, toLaunchSpec, validateSpec } from "../../../src/runtime/spec.js"
import type { ReplicaSpec } from "../../../src/runtime/types.js"

describe("status protocol", () => {
  it("parses every line kind", () => {
    expect(parseStatusLine("ready")).toEqual({ _tag: "ready" })
    expect(parseStatusLine("exited 0")).toEqual({ _tag: "exited", status: { code: 0, signal: null } })
    expect(parseStatusLine("exited 137")).toEqual({ _tag: "exited", status: { code: 137, signal: null } })
    expect(parseStatusLine("exited signal 9")).toEqual({ _tag: "exited", status: { code: null, signal: 9 } })
    expect(parseStatusLine("failed mount overlay: Invalid argument")).toEqual({
      _tag: "failed",
      stage: "mount overlay",
      message: "Invalid argument"
    })
    expect(parseStatusLine("failed exec: No such file or directory: x")).toEqual({
      _tag: "failed",
      stage: "exec",
      message: "No such file or directory: x"
    })
    expect(parseStatusLine("hello")).toEqual({ _tag: "unknown", line: "hello" })
  })
})

describe("names", () => {
  it("accepts DNS labels and UUIDs, refuses anything path-like", () => {
    for (const ok of ["web", "a", "r-1", "0190c2f4-5d8e-7a3b-9c1d-2e3f4a5b6c7d"]) expect(isRuntimeName(ok)).toBe(true)
    for (const bad of ["", ".", "..", "a/b", "../etc", "-a", "a-", "A", "a b", "x".repeat(64), "a\0b"]) {
      expect(isRuntimeName(bad)).toBe(false)
    }
  })

  it.effect("validateRef names the offending field", () =>
    Effect.gen(function*() {
      const err = yield* validateRef({ service: "web", deployment: "d1", replica: "../x" }).pipe(Effect.flip)
      expect(err.field).toBe("replica")
    }))
})

describe("procfs", () => {
  it("parses /proc/<pid>/stat with spaces and parens in comm", () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3))
    fields[0] = "S" // field 3
    fields[1] = "77" // field 4: ppid
    fields[11] = "10" // field 14: utime
    fields[12] = "5" // field 15: stime
    fields[19] = "123456" // field 22: starttime
    const st = parseStat(`42 (we (ird) name) ${fields.join(" ")}`)
    expect(st).toEqual({ pid: 42, state: "S", ppid: 77, utime: 10, stime: 5, startTime: 123456 })
    expect(parseStat("garbage")).toBeNull()
  })
})

const base: ReplicaSpec = {
  service: "web",
  deployment: "d1",
  replica: "r1",
  rootfs: "/bundles/b1",
  argv: ["/bin/httpd", "-f"],
  env: { A: "1", PORT: "1" },
  port: 8080
}

describe("replica spec", () => {
  it.effect("valid specs pass; bad fields are named", () =>
    Effect.gen(function*() {
      yield* validateSpec(base, 65536)
      const cases: Array<[Partial<ReplicaSpec>, string]> = [
        [{ argv: [] }, "argv"],
        [{ env: { "BAD-KEY": "x" } }, "env"],
        [{ env: { A: "x\0y" } }, "env"],
        [{ uid: 70000 }, "uid"],
        [{ gid: -1 }, "gid"],
        [{ port: 0 }, "port"],
        [{ workdir: "relative" }, "workdir"],
        [{ workdir: "/a/../b" }, "workdir"],
        [{ hostname: "bad_host" }, "hostname"],
        [{ limits: { pids: 0 } }, "limits.pids"]
      ]
      for (const [patch, field] of cases) {
        const err = yield* validateSpec({ ...base, ...patch }, 65536).pipe(Effect.flip)
        expect(err.field).toBe(field)
      }
    }))

  it("translates to the helper's launch spec with PORT set by the runtime", () => {
    const dirs = replicaDirs("/data", base)
    expect(dirs.dir).toBe("/data/runtime/web/d1/r1")
    expect(dirs.socketPath).toBe("/data/runtime/web/d1/r1/sock/service.sock")
    const ls = toLaunchSpec(base, dirs, null, { base: 100000, size: 65536 })
    expect(ls).toEqual({
      rootfs: "/bundles/b1",
      rootfsIdmap: 0,
      upper: "/data/runtime/web/d1/r1/upper",
      work: "/data/runtime/web/d1/r1/work",
      merged: "/data/runtime/web/d1/r1/merged",
      sockDir: "/data/runtime/web/d1/r1/sock",
      cgroup: "",
      hostname: "web-r1",
      workdir: "/",
      argv: ["/bin/httpd", "-f"],
      env: ["A=1", "PORT=8080"],
      uid: 0,
      gid: 0,
      usernsBase: 100000,
      usernsSize: 65536,
      port: 8080,
      capMask: 0xa80425fb,
      stopSignal: 15,
      shmBytes: 64 * 1024 * 1024,
      nofileSoft: 1024,
      nofileHard: 0,
      etcHosts: "",
      etcHostname: "",
      etcResolvConf: "",
      netnsPath: "",
      mounts: []
    })
    expect(defaultHostname({ ...base, service: "s".repeat(63) })).toHaveLength(63)
    // a bundle that keeps the image's owners is mounted idmapped (ADR 0822)
    expect(toLaunchSpec({ ...base, rootfsIdmap: true }, dirs, null, { base: 100000, size: 65536 }).rootfsIdmap).toBe(1)
  })
})
