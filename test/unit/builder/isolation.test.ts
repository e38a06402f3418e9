import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { buildFailureMessage, makeStepTracker, redact } from "../../../src/builder/buildOutput.js"
import { buildCgroupSettings, detectBuildIsolation, isolatedCommand } from "../../../src/builder/isolation.js"
import { makeBuildQueue } from "../../../src/builder/queue.js"
import { uploadBuildReference, uploadBuildTarget } from "../../../src/builder/uploads/reference.js"
import { buildIsolationVerdict } from "../../../src/cli/doctor/command.js"

describe("build isolation", () => {
  it("falls back to idle priority without cgroup v2 controllers, and doctor warns that builds are not limited", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-iso-"))
    try {
      const isolation = await Effect.runPromise(detectBuildIsolation(dir))
      expect(isolation.mode).toBe("nice")
      expect(isolation.reason).toContain("builds are not resource-limited")
      const verdict = buildIsolationVerdict(isolation)
      expect(verdict.level).toBe("warn")
      expect(verdict.detail).toContain("not resource-limited")
      expect(isolatedCommand(["buildah", "build"], undefined)).toEqual(["nice", "-n", "19", "ionice", "-c3", "buildah", "build"])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("in a cgroup the build gets a low cpu.weight, memory.max from build_memory_mb and io.weight when offered", () => {
    const settings = new Map(buildCgroupSettings(["cpu", "memory", "pids", "io"], 512))
    expect(settings.get("cpu.weight")).toBe("10")
    expect(settings.get("memory.max")).toBe(String(512 * 1024 * 1024))
    expect(settings.get("io.weight")).toBe("default 10")
    expect(new Map(buildCgroupSettings(["cpu", "memory", "pids"], 512)).has("io.weight")).toBe(false)
    const argv = isolatedCommand(["buildah"], "/sys/fs/cgroup/denia/builds/x")
    expect(argv.slice(0, 2)).toEqual(["sh", "-c"])
    expect(argv).toContain("/sys/fs/cgroup/denia/builds/x")
  })
})

describe("build output", () => {
  it("names the failing step and its error", () => {
    const t = makeStepTracker()
    for (
      const l of [
        "STEP 1/3: FROM base",
        "STEP 2/3: RUN make",
        "make: *** [all] Error 2",
        "error building at STEP \"RUN make\": error while running runtime: exit status 2"
      ]
    ) t.see(l)
    expect(buildFailureMessage(t, { exitCode: 1, signal: null })).toBe(
      "build failed at step 2/3 RUN make: error while running runtime: exit status 2"
    )
    expect(redact("auth dnp_secret ok dnp_secret", ["dnp_secret"])).toBe("auth *** ok ***")
  })
})

describe("build queue", () => {
  it("runs one build at a time and tells the waiting ones how many are ahead", async () => {
    const seen: Array<string> = []
    const order: Array<string> = []
    await Effect.runPromise(
      Effect.gen(function*() {
        const queue = yield* makeBuildQueue(1)
        const job = (name: string) =>
          queue.run(
            (ahead) => Effect.sync(() => void seen.push(`${name}:${ahead}`)),
            Effect.sync(() => void order.push(`${name}+`)).pipe(
              Effect.zipRight(Effect.sleep("20 millis")),
              Effect.zipRight(Effect.sync(() => void order.push(`${name}-`)))
            )
          )
        yield* Effect.all([job("a"), job("b"), job("c")], { concurrency: "unbounded" })
      })
    )
    expect(order).toEqual(["a+", "a-", "b+", "b-", "c+", "c-"])
    expect(seen).toEqual(["b:1", "c:2", "c:1"])
  })
})

describe("upload build references", () => {
  it("round-trip the upload id and ignore digests and other tags", () => {
    const id = "0190a1b2-c3d4-7e5f-8a9b-0123456789ab"
    const ref = uploadBuildReference("127.0.0.1:7180", "shop", "web", id)
    expect(uploadBuildTarget(ref)).toEqual({ projectName: "shop", serviceName: "web", uploadId: id })
    expect(uploadBuildTarget(`${ref}@sha256:${"a".repeat(64)}`)).toBeUndefined()
    expect(uploadBuildTarget("127.0.0.1:7180/shop/web:latest")).toBeUndefined()
  })
})
