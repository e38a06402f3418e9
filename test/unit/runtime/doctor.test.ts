import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runtimeChecks } from "../../../src/runtime/doctor.js"

describe("runtime doctor checks", () => {
  it.effect("reports a missing helper with a fix and never claims limits on a non-cgroup dir", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-doctor-"))
      try {
        const checks = yield* runtimeChecks({ helperPath: path.join(dir, "denia-init"), cgroupRoot: path.join(dir, "cg") })
        const helper = checks.find((c) => c.name === "runtime helper")
        expect(helper?.ok).toBe(false)
        expect(helper?.fix).toMatch(/build:native/)
        const cg = checks.find((c) => c.name === "cgroup v2 limits")
        expect(cg?.ok).toBe(false)
        expect(cg?.detail).toMatch(/^limits: not enforced/)
        expect(checks.map((c) => c.name)).toEqual(["runtime helper", "user namespaces", "overlayfs", "cgroup v2 limits"])
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }))
})
