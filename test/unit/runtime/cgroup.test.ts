import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach } from "vitest"
import { cpuMaxValue, detectCgroup, makeCgroupDriver, parseCpuStatUsage, parseOomKills } from "../../../src/runtime/cgroup.js"

let dir: string
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-cgroup-"))
})
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

const read = (...p: Array<string>) => fs.readFileSync(path.join(dir, ...p), "utf8")

describe("cgroup v2 driver (fake cgroupfs)", () => {
  it.effect("enforced mode enables controllers on owned parents and writes limits", () =>
    Effect.gen(function*() {
      fs.writeFileSync(path.join(dir, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n")
      const root = path.join(dir, "denia")
      const support = yield* detectCgroup(root, { assumeCgroup2: true })
      expect(support.mode).toBe("enforced")
      const driver = makeCgroupDriver(support)
      const cg = yield* driver.create("web", "r1", { cpuMillis: 500, memoryMb: 256, pids: 100 })
      expect(cg).toBe(path.join(root, "web", "r1"))
      expect(read("denia", "cgroup.subtree_control")).toBe("+cpu +memory +pids")
      expect(read("denia", "web", "cgroup.subtree_control")).toBe("+cpu +memory +pids")
      expect(read("denia", "web", "r1", "cpu.max")).toBe("50000 100000")
      expect(read("denia", "web", "r1", "memory.max")).toBe(String(256 * 1024 * 1024))
      expect(read("denia", "web", "r1", "memory.swap.max")).toBe("0")
      expect(read("denia", "web", "r1", "pids.max")).toBe("100")
      // the replica's own cgroup gets no subtree_control (processes live there)
      expect(fs.existsSync(path.join(root, "web", "r1", "cgroup.subtree_control"))).toBe(false)
    }))

  it.effect("limits left unset are not written", () =>
    Effect.gen(function*() {
      fs.writeFileSync(path.join(dir, "cgroup.controllers"), "cpu memory pids")
      const driver = makeCgroupDriver(yield* detectCgroup(dir, { assumeCgroup2: true }))
      const cg = yield* driver.create("api", "r2", { pids: 5 })
      expect(cg).not.toBeNull()
      expect(fs.readdirSync(cg ?? "").sort()).toEqual(["pids.max"])
    }))

  it.effect("grouping mode (cgroup2 without cpu/memory/pids) creates cgroups but writes no limits", () =>
    Effect.gen(function*() {
      fs.writeFileSync(path.join(dir, "cgroup.controllers"), "hugetlb\n")
      const support = yield* detectCgroup(path.join(dir, "denia"), { assumeCgroup2: true })
      expect(support.mode).toBe("grouping")
      expect(support.reason).toMatch(/lacks controllers: cpu, memory, pids/)
      const driver = makeCgroupDriver(support)
      const cg = yield* driver.create("web", "r1", { cpuMillis: 1000, memoryMb: 64, pids: 10 })
      expect(cg).not.toBeNull()
      expect(fs.readdirSync(cg ?? "")).toEqual([])
      expect(fs.existsSync(path.join(dir, "denia", "cgroup.subtree_control"))).toBe(false)
    }))

  it.effect("a directory that is not cgroup2 means mode none and no cgroups", () =>
    Effect.gen(function*() {
      const support = yield* detectCgroup(path.join(dir, "denia"))
      expect(support.mode).toBe("none")
      expect(support.reason).toMatch(/not on a cgroup v2 filesystem/)
      expect(yield* makeCgroupDriver(support).create("web", "r1", {})).toBeNull()
      expect((yield* detectCgroup("relative/path")).mode).toBe("none")
    }))

  it.effect("kill writes cgroup.kill; stats read cpu.stat, memory.current, pids.current; remove cleans up", () =>
    Effect.gen(function*() {
      fs.writeFileSync(path.join(dir, "cgroup.controllers"), "cpu memory pids")
      const driver = makeCgroupDriver(yield* detectCgroup(dir, { assumeCgroup2: true }))
      const cg = (yield* driver.create("web", "r1", {})) ?? ""
      fs.writeFileSync(path.join(cg, "cgroup.procs"), "")
      fs.writeFileSync(path.join(cg, "cpu.stat"), "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n")
      fs.writeFileSync(path.join(cg, "memory.current"), "4096\n")
      fs.writeFileSync(path.join(cg, "pids.current"), "3\n")
      expect(yield* driver.stats(cg)).toEqual({ cpuUsageUsec: 123456, memoryBytes: 4096, pids: 3 })
      expect(yield* driver.kill(cg)).toBe(0)
      expect(fs.readFileSync(path.join(cg, "cgroup.kill"), "utf8")).toBe("1")
      expect(yield* driver.listReplicaCgroups).toEqual([cg])
      expect(yield* driver.remove(cg)).toBe(true)
      expect(fs.existsSync(cg)).toBe(false)
    }))

  it.effect("oomKills reads memory.events oom_kill where limits are enforced, null elsewhere", () =>
    Effect.gen(function*() {
      fs.writeFileSync(path.join(dir, "cgroup.controllers"), "cpu memory pids")
      const driver = makeCgroupDriver(yield* detectCgroup(dir, { assumeCgroup2: true }))
      const cg = (yield* driver.create("web", "r1", { memoryMb: 16 })) ?? ""
      expect(yield* driver.oomKills(cg)).toBeNull()
      fs.writeFileSync(path.join(cg, "memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\noom_group_kill 0\n")
      expect(yield* driver.oomKills(cg)).toBe(0)
      fs.writeFileSync(path.join(cg, "memory.events"), "low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\noom_group_kill 0\n")
      expect(yield* driver.oomKills(cg)).toBe(2)

      const gdir = path.join(dir, "g")
      fs.mkdirSync(gdir)
      fs.writeFileSync(path.join(gdir, "cgroup.controllers"), "hugetlb")
      const grouping = makeCgroupDriver(yield* detectCgroup(gdir, { assumeCgroup2: true }))
      const gcg = (yield* grouping.create("web", "r1", {})) ?? ""
      fs.writeFileSync(path.join(gcg, "memory.events"), "oom_kill 5\n")
      expect(yield* grouping.oomKills(gcg)).toBeNull()
    }))

  it("parses the oom_kill counter", () => {
    expect(parseOomKills("oom 1\noom_kill 7\noom_group_kill 0")).toBe(7)
    expect(parseOomKills("oom_group_kill 3\n")).toBeNull()
    expect(parseOomKills("")).toBeNull()
  })

  it("formats cpu.max and parses cpu.stat", () => {
    expect(cpuMaxValue(1000)).toBe("100000 100000")
    expect(cpuMaxValue(250)).toBe("25000 100000")
    expect(cpuMaxValue(2500)).toBe("250000 100000")
    expect(cpuMaxValue(1)).toBe("1000 100000")
    expect(parseCpuStatUsage("usage_usec 42\nuser_usec 1")).toBe(42)
    expect(parseCpuStatUsage("")).toBe(0)
  })
})
