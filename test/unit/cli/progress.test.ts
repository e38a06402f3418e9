import { describe, expect, it } from "vitest"
import { progressBar, renderBar } from "../../../src/cli/client/progress.js"
import { progressLine, uploadReporter } from "../../../src/cli/client/upload.js"

const MiB = 1024 * 1024
const base = { label: "uploading", estimate: false, sent: undefined, complete: false }

describe("progress bar rendering", () => {
  it("fills the bar in proportion to the total and shows bytes and rate", () => {
    expect(renderBar({ ...base, done: 50 * MiB, total: 200 * MiB, elapsedMs: 2000 })).toBe(
      "uploading [######..................]  25% 50.0 MiB / 200.0 MiB at 25.0 MiB/s"
    )
  })

  it("shows the compressed bytes on the wire beside an uncompressed total, with their rate", () => {
    expect(renderBar({ ...base, done: 100 * MiB, total: 200 * MiB, sent: 30 * MiB, elapsedMs: 3000 })).toBe(
      "uploading [############............]  50% 100.0 MiB / 200.0 MiB · sent 30.0 MiB at 10.0 MiB/s"
    )
  })

  it("marks an estimated total and never overflows the bar", () => {
    const line = renderBar({ ...base, label: "backup data", done: 3 * MiB, total: 2 * MiB, estimate: true, elapsedMs: 1000 })
    expect(line).toBe(`backup data [${"#".repeat(24)}] 100% 3.0 MiB / ~2.0 MiB at 3.0 MiB/s`)
  })

  it("is full once complete even when the estimate was high (a compressed backup)", () => {
    const line = renderBar({ ...base, done: 1 * MiB, total: 4 * MiB, estimate: true, elapsedMs: 1000, complete: true })
    expect(line).toContain(`[${"#".repeat(24)}] 100% 1.0 MiB / ~4.0 MiB`)
  })

  it("has no bar without a total", () => {
    expect(renderBar({ ...base, done: 2048, total: null, elapsedMs: 1000 })).toBe("uploading 2.0 KiB at 2.0 KiB/s")
  })
})

describe("progress bar drawing", () => {
  const sink = (isTTY: boolean) => {
    const writes: Array<string> = []
    return { writes, stream: { isTTY, write: (c: string) => writes.push(c) } }
  }

  it("redraws in place on a terminal at most every 100 ms and ends the line when done", () => {
    const { stream, writes } = sink(true)
    let t = 0
    const bar = progressBar("restore data", 10 * MiB, { stream, now: () => t })
    bar.add(MiB) // first draw
    t = 50
    bar.add(MiB) // throttled
    t = 150
    bar.add(MiB)
    bar.done()
    expect(writes).toHaveLength(3)
    expect(writes.every((w) => w.startsWith("\r\u001b[2K"))).toBe(true)
    expect(writes[1]).toContain("30% 3.0 MiB / 10.0 MiB")
    expect(writes[2]).toMatch(/100% 3\.0 MiB \/ 10\.0 MiB at .*\n$/)
  })

  it("writes nothing when the stream is not a terminal", () => {
    const { stream, writes } = sink(false)
    const bar = progressBar("backup data", MiB, { stream })
    bar.add(MiB)
    bar.done()
    expect(writes).toEqual([])
  })

  it("push on a terminal: the bar follows the packed tar bytes, the wire bytes go beside it", () => {
    const writes: Array<string> = []
    const r = uploadReporter(true, 8 * MiB, { isTTY: true, write: (c: string) => writes.push(c) })
    r.packed(4 * MiB)
    r.show(MiB, 1000, false)
    r.show(2 * MiB, 2000, true)
    const last = writes.at(-1) ?? ""
    expect(last).toContain("uploading [")
    expect(last).toContain("100% 4.0 MiB / 8.0 MiB · sent 2.0 MiB at")
    expect(last.endsWith("\n")).toBe(true)
  })

  it("push on a terminal: an upload that ended early (a refusal) still ends the bar's line, once", () => {
    const writes: Array<string> = []
    const r = uploadReporter(true, 8 * MiB, { isTTY: true, write: (c: string) => writes.push(c) })
    r.packed(MiB)
    r.show(MiB, 1000, false)
    r.finish()
    r.finish()
    expect(writes.filter((w) => w.endsWith("\n"))).toHaveLength(1)
  })

  it("push piped: plain lines without carriage returns or escape codes", () => {
    const writes: Array<string> = []
    const r = uploadReporter(false, 8 * MiB, { write: (c: string) => writes.push(c) })
    r.packed(4 * MiB)
    r.show(2 * MiB, 2000, true)
    expect(r.everyMs).toBeGreaterThan(0)
    expect(writes).toEqual([`${progressLine(2 * MiB, 2000, true)}\n`])
    expect(writes[0]).toBe("uploading 2.0 MiB at 1.0 MiB/s — done\n")
  })
})
