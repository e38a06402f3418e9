import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { LineSink, LogRegistry } from "../../../src/runtime/logs.js"

let dir: string
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-logs-"))
})
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("service logs", () => {
  it("prefixes whole lines, joins partial chunks and rotates at the cap", () => {
    const reg = new LogRegistry(path.join(dir, "logs", "services"), 2000)
    const file = reg.acquire("web")
    const out = new LineSink(file, "r1 stdout")
    out.push(Buffer.from("hel"))
    out.push(Buffer.from("lo\nwor"))
    out.push(Buffer.from("ld\n"))
    expect(reg.tail("web", 10).map((l) => l.replace(/^\S+ /, ""))).toEqual(["r1 stdout hello", "r1 stdout world"])
    for (let i = 0; i < 100; i++) out.push(Buffer.from(`line ${i}\n`))
    out.push(Buffer.from("no newline"))
    out.flush()
    const p = reg.pathOf("web")
    expect(fs.statSync(p).size).toBeLessThanOrEqual(2000)
    expect(fs.existsSync(`${p}.1`)).toBe(true)
    const last = reg.tail("web", 3).map((l) => l.replace(/^\S+ /, ""))
    expect(last).toEqual(["r1 stdout line 98", "r1 stdout line 99", "r1 stdout no newline"])
    // tail reaches into the rotated file when the current one is short
    const current = fs.readFileSync(p, "utf8").split("\n").filter((l) => l !== "").length
    const rotated = fs.readFileSync(`${p}.1`, "utf8").split("\n").filter((l) => l !== "").length
    expect(reg.tail("web", 1000).length).toBe(current + rotated)
    expect(reg.tail("web", current + 1).length).toBe(current + 1)
    reg.release("web")
  })

  it("an unknown service has no lines", () => {
    const reg = new LogRegistry(path.join(dir, "none"), 1000)
    expect(reg.tail("x", 5)).toEqual([])
  })
})
