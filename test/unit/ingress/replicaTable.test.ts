import { describe, expect, it } from "vitest"
import { AccessLogs } from "../../../src/ingress/accessLog.js"
import { ReplicaTable } from "../../../src/ingress/ReplicaRegistry.js"

describe("ReplicaTable", () => {
  it("round-robins over the published set and swaps it atomically", () => {
    const t = new ReplicaTable()
    expect(t.pick("s")).toBeUndefined()
    t.publish("s", [
      { id: "a", socketPath: "/tmp/a.sock" },
      { id: "b", socketPath: "/tmp/b.sock" }
    ])
    expect([t.pick("s")?.id, t.pick("s")?.id, t.pick("s")?.id]).toEqual(["a", "b", "a"])
    const a = t.pick("s")
    t.publish("s", [{ id: "b", socketPath: "/tmp/b.sock" }])
    expect(t.pick("s")?.id).toBe("b")
    // a replica that stays keeps its pool
    expect(t.pick("s")).toBe(t.pick("s"))
    expect(a).toBeDefined()
    t.publish("s", [])
    expect(t.pick("s")).toBeUndefined()
    expect(t.healthyCount("s")).toBe(0)
    t.closeAll()
  })

  it("drain waits for in-flight requests on the drained replicas", async () => {
    const t = new ReplicaTable()
    t.publish("s", [{ id: "old", socketPath: "/tmp/old.sock" }])
    const conn = t.pick("s")
    conn?.acquire()
    conn?.acquire()
    t.publish("s", [{ id: "new", socketPath: "/tmp/new.sock" }])
    let drained = false
    const p = t.drain("s", ["old"]).then(() => (drained = true))
    await new Promise((r) => setImmediate(r))
    expect(drained).toBe(false)
    conn?.release()
    await new Promise((r) => setImmediate(r))
    expect(drained).toBe(false)
    conn?.release()
    await p
    expect(drained).toBe(true)
    expect(t.pick("s")?.id).toBe("new")
    // draining a replica that is still published removes it from the set
    await t.drain("s", ["new"])
    expect(t.pick("s")).toBeUndefined()
    t.closeAll()
  })

  it("activation is single flight per service and answers false without an activator", async () => {
    const t = new ReplicaTable()
    expect(await t.activate("s")).toBe(false)
    let calls = 0
    let release: (() => void) | undefined
    t.setActivator(async (id) => {
      calls++
      await new Promise<void>((r) => (release = r))
      t.publish(id, [{ id: "r", socketPath: "/tmp/r.sock" }])
      return true
    })
    const all = Promise.all([t.activate("s"), t.activate("s"), t.activate("s")])
    await new Promise((r) => setImmediate(r))
    release?.()
    expect(await all).toEqual([true, true, true])
    expect(calls).toBe(1)
    t.closeAll()
  })

  it("a failed activation backs off instead of hammering the activator", async () => {
    const t = new ReplicaTable()
    let calls = 0
    t.setActivator(async () => {
      calls++
      return false
    })
    expect(await t.activate("s")).toBe(false)
    expect(await t.activate("s")).toBe(false)
    expect(calls).toBe(1)
  })
})

describe("AccessLogs", () => {
  it("keeps the newest entries up to capacity, newest first", () => {
    const logs = new AccessLogs(3)
    for (let i = 0; i < 5; i++) {
      logs.record("s", { at: i, method: "GET", path: `/${i}`, status: 200, bytes: 1, durationMs: 1, replica: "r", clientIp: "127.0.0.1" })
    }
    expect(logs.recent("s", 10).map((e) => e.path)).toEqual(["/4", "/3", "/2"])
    expect(logs.recent("s", 1).map((e) => e.path)).toEqual(["/4"])
    expect(logs.recent("other", 10)).toEqual([])
    expect(logs.lastActivityAt("s")).toBe(4)
  })
})
