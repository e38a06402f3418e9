/** HostedRegistry without HTTP: the in-process API other subsystems use (resolve a tag, read blobs locally). */
import { Effect, Exit, Layer, Schema, Scope } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { Readable } from "node:stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CreateProject } from "../../../src/domain/project.js"
import { CreateService } from "../../../src/domain/service.js"
import { HostedRegistry } from "../../../src/registry/index.js"
import { ProjectsRepo } from "../../../src/repos/ProjectsRepo.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { testConfig } from "../../support/daemon.js"
import { hostedRegistryTest } from "../../support/layers.js"
import { makeTempDir } from "../../support/tempDir.js"

const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`

type Services = HostedRegistry | ProjectsRepo | ServicesRepo
let scope: Scope.CloseableScope
let run: <A, E>(eff: Effect.Effect<A, E, Services>) => Promise<A>
let cleanup: () => void

beforeAll(async () => {
  const temp = makeTempDir()
  cleanup = temp.cleanup
  const config = await testConfig(temp.dir)
  const layer = hostedRegistryTest(config)
  scope = await Effect.runPromise(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  run = (eff) => Effect.runPromise(Effect.provide(eff, context))
})
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  cleanup()
})

describe("HostedRegistry (in-process)", () => {
  it("resolves <project>/<service>:<tag> to the stored manifest and exposes blobs as local files", async () => {
    const layer = Buffer.from("layer bytes")
    const config = Buffer.from("{}")
    const { manifest, digest, path } = await run(
      Effect.gen(function*() {
        const registry = yield* HostedRegistry
        const projects = yield* ProjectsRepo
        const services = yield* ServicesRepo
        const project = yield* projects.create(Schema.decodeUnknownSync(CreateProject)({ name: "shop" }))
        yield* services.create(
          Schema.decodeUnknownSync(CreateService)({
            projectId: project.id,
            name: "web",
            source: { type: "hosted", tag: "latest" },
            port: 8080
          })
        )
        const repo = yield* registry.access.repositoryUnchecked("shop/web")
        for (const b of [layer, config]) yield* registry.monolithic(repo, sha(b), Readable.from([b]), b.length)
        const manifest = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length },
            layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha(layer), size: layer.length }]
          })
        )
        const stored = yield* registry.putManifest(repo, "latest", manifest, "application/vnd.oci.image.manifest.v1+json")
        const resolved = yield* registry.resolveLocal("shop", "web", "latest")
        return { manifest, digest: stored.digest, resolved, path: registry.blobPath(sha(layer)) }
      }).pipe(Effect.map((r) => ({ ...r, resolvedDigest: r.resolved.row.digest })))
    )
    expect(digest).toBe(sha(manifest))
    expect(path).toBeDefined()
    expect(fs.readFileSync(path ?? "")).toEqual(layer)
    const byDigest = await run(Effect.flatMap(HostedRegistry, (r) => r.resolveLocal("shop", "web", digest)))
    expect(byDigest.bytes.equals(manifest)).toBe(true)
    expect(byDigest.row.mediaType).toBe("application/vnd.oci.image.manifest.v1+json")
    const missing = await run(Effect.flip(Effect.flatMap(HostedRegistry, (r) => r.resolveLocal("shop", "web", "nope"))))
    expect(missing._tag === "denia/registry/DistributionError" ? missing.code : missing._tag).toBe("MANIFEST_UNKNOWN")
    const spec = await run(
      Effect.map(HostedRegistry, (r) => [r.pullSpec("shop", "web", "latest"), r.pullSpec("shop", "web", digest)] as const)
    )
    expect(spec[0].reference).toMatch(/^127\.0\.0\.1:\d+\/shop\/web:latest$/)
    expect(spec[1].reference).toMatch(new RegExp(`/shop/web@${digest}$`))
    expect(spec[0].credentials).toEqual({ kind: "basic", username: "denia", password: "a".repeat(64) })
    const noService = await run(Effect.flip(Effect.flatMap(HostedRegistry, (r) => r.resolveLocal("shop", "db", "latest"))))
    expect(noService._tag === "denia/registry/DistributionError" ? noService.code : noService._tag).toBe("NAME_UNKNOWN")
  })
})
