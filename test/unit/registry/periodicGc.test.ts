/** The periodic GC loop runs on its interval (TestClock) and frees unreferenced blobs once they are past the grace period. */
import { it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Schema, TestClock } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { Readable } from "node:stream"
import { afterAll, describe, expect } from "vitest"
import { CreateProject } from "../../../src/domain/project.js"
import { CreateService } from "../../../src/domain/service.js"
import { HostedRegistry, RegistryGc } from "../../../src/registry/index.js"
import { ProjectsRepo } from "../../../src/repos/ProjectsRepo.js"
import { RegistryRepo } from "../../../src/repos/RegistryRepo.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { testConfig } from "../../support/daemon.js"
import { hostedRegistryTest } from "../../support/layers.js"
import { makeTempDir } from "../../support/tempDir.js"

const temp = makeTempDir()
afterAll(() => temp.cleanup())

const realSleep = (ms: number) => Effect.promise(() => new Promise((r) => setTimeout(r, ms)))

describe("periodic registry GC", () => {
  it.scoped("runs after registry_gc_interval_hours and records a periodic run", () =>
    Effect.gen(function*() {
      const config = yield* Effect.promise(() => testConfig(temp.dir, { registry_gc_interval_hours: 2, registry_gc_grace_minutes: 0 }))
      const layer = RegistryGc.layer.pipe(Layer.provideMerge(hostedRegistryTest(config)))
      const ctx = yield* Layer.build(layer)
      yield* Effect.gen(function*() {
        const registry = yield* HostedRegistry
        const meta = yield* RegistryRepo
        const project = yield* (yield* ProjectsRepo).create(Schema.decodeUnknownSync(CreateProject)({ name: "shop" }))
        yield* (yield* ServicesRepo).create(
          Schema.decodeUnknownSync(CreateService)({
            projectId: project.id,
            name: "web",
            source: { type: "hosted", tag: "latest" },
            port: 8080
          })
        )
        const repo = yield* registry.access.repositoryUnchecked("shop/web")
        const bytes = Buffer.from("orphan blob")
        const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`
        yield* registry.monolithic(repo, digest, Readable.from([bytes]), bytes.length)
        const file = registry.blobPath(digest) ?? ""
        expect(fs.existsSync(file)).toBe(true)
        yield* realSleep(5) // past the (zero) grace period in wall-clock terms

        // one hour in: nothing ran yet
        yield* TestClock.adjust(Duration.hours(1))
        yield* realSleep(50)
        expect(Option.isNone(yield* meta.lastGcRun)).toBe(true)

        // at two hours the loop runs
        yield* TestClock.adjust(Duration.hours(1))
        let last = yield* meta.lastGcRun
        for (let i = 0; i < 200 && (Option.isNone(last) || last.value.finishedAt === null); i++) {
          yield* realSleep(10)
          last = yield* meta.lastGcRun
        }
        expect(Option.isSome(last)).toBe(true)
        if (Option.isNone(last)) return
        expect(last.value.trigger).toBe("periodic")
        expect(last.value.blobsDeleted).toBe(1)
        expect(last.value.bytesFreed).toBe(bytes.length)
        expect(fs.existsSync(file)).toBe(false)
      }).pipe(Effect.provide(ctx))
    }))
})
