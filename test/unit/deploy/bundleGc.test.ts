import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { collectBundles } from "../../../src/deploy/bundleGc.js"
import { makeTempDir } from "../../support/tempDir.js"

const temps: Array<() => void> = []
afterEach(() => temps.splice(0).forEach((c) => c()))

describe("bundle GC", () => {
  it("removes old unreferenced bundles only", async () => {
    const t = makeTempDir()
    temps.push(t.cleanup)
    const hex = (c: string) => c.repeat(64)
    const mk = (name: string, ageMs: number) => {
      const dir = path.join(t.dir, name)
      fs.mkdirSync(path.join(dir, "rootfs"), { recursive: true })
      fs.writeFileSync(path.join(dir, "rootfs", "f"), "x")
      const when = new Date(Date.now() - ageMs)
      fs.utimesSync(dir, when, when)
    }
    const hour = 3_600_000
    mk(hex("a"), hour) // referenced
    mk(hex("b"), hour) // old, unreferenced → removed
    mk(hex("c"), 1000) // fresh, unreferenced → kept (a pull may be using it)
    mk(".tmp-abc", hour) // not a bundle name → left to the OCI subsystem
    const report = await Effect.runPromise(collectBundles(t.dir, new Set([`sha256:${hex("a")}`])))
    expect(report.removed).toEqual([`sha256:${hex("b")}`])
    expect(fs.readdirSync(t.dir).sort()).toEqual([".tmp-abc", hex("a"), hex("c")].sort())
  })
})
