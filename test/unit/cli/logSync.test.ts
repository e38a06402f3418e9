import { describe, expect, it } from "vitest"
import { makeLogSync, snapshotEnd } from "../../../src/cli/client/logSync.js"

describe("logs -f --tail N: the stream without its copy of the snapshot", () => {
  const snapshot = ["l3", "l4", "l5"]

  it("finds the snapshot's end when the backlog starts before it", () => {
    expect(snapshotEnd(snapshot, ["l1", "l2", "l3", "l4", "l5", "new"])).toBe(4)
  })

  it("finds it when the backlog starts inside the snapshot, the first line cut", () => {
    expect(snapshotEnd(snapshot, ["4", "l5", "new"])).toBe(1)
    expect(snapshotEnd(snapshot, ["l5"])).toBe(0)
  })

  it("does not match a stream that does not contain the snapshot", () => {
    expect(snapshotEnd(snapshot, ["x", "y"])).toBe(-1)
    expect(snapshotEnd(snapshot, ["l3", "zz", "l5"])).toBe(-1)
  })

  it("with repeated lines, prints none of them twice", () => {
    expect(snapshotEnd(["a", "b", "a"], ["a", "b", "a"])).toBe(2)
  })

  it("prints exactly the lines after the snapshot, then everything", () => {
    const sync = makeLogSync(snapshot, 1000)
    expect(sync.push(["l1", "l2"])).toEqual([])
    expect(sync.push(["l3", "l4", "l5", "n1"])).toEqual(["n1"])
    expect(sync.push(["l3", "n2"])).toEqual(["l3", "n2"])
  })

  it("an empty snapshot passes everything through", () => {
    expect(makeLogSync([], 100).push(["a"])).toEqual(["a"])
  })

  it("gives up holding lines back past the backlog size plus 1 MiB (log rotated)", () => {
    const sync = makeLogSync(["gone"], 10)
    const big = "x".repeat(1024 * 1024 + 100)
    expect(sync.push([big])).toEqual([big])
    expect(sync.push(["next"])).toEqual(["next"])
  })
})
