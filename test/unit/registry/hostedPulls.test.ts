/** Deployer pull tokens: minted only from a grant, pull-only, one repository, revocable, never a /v1 credential. */
import { Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Principal } from "../../../src/api/definition/security.js"
import { PrincipalResolver } from "../../../src/auth/PrincipalResolver.js"
import { CreateProject, type Project } from "../../../src/domain/project.js"
import { CreateService } from "../../../src/domain/service.js"
import { HostedPulls } from "../../../src/registry/hostedPulls.js"
import { HostedRegistry } from "../../../src/registry/index.js"
import { ProjectsRepo } from "../../../src/repos/ProjectsRepo.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { testConfig } from "../../support/daemon.js"
import { hostedRegistryTest } from "../../support/layers.js"
import { makeTempDir } from "../../support/tempDir.js"

type Services = HostedRegistry | HostedPulls | PrincipalResolver | ProjectsRepo | ServicesRepo
let scope: Scope.CloseableScope
let run: <A, E>(eff: Effect.Effect<A, E, Services>) => Promise<A>
let cleanup: () => void
let port = 0
const admin: Principal = { kind: "adminToken", superAdmin: true }

beforeAll(async () => {
  const temp = makeTempDir()
  cleanup = temp.cleanup
  const config = await testConfig(temp.dir)
  port = Number(config.values.bindAddr.split(":")[1])
  const layer = hostedRegistryTest(config)
  scope = await Effect.runPromise(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  run = (eff) => Effect.runPromise(Effect.provide(eff, context))
  await run(
    Effect.gen(function*() {
      const projects = yield* ProjectsRepo
      const services = yield* ServicesRepo
      for (const name of ["alpha", "beta"]) {
        const project: Project = yield* projects.create(Schema.decodeUnknownSync(CreateProject)({ name }))
        yield* services.create(
          Schema.decodeUnknownSync(CreateService)({
            projectId: project.id,
            name: "web",
            source: { type: "hosted", tag: "latest" },
            port: 8080
          })
        )
      }
    })
  )
})
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  cleanup()
})

const basic = (token: string) => `Basic ${Buffer.from(`denia-deployer:${token}`).toString("base64")}`

describe("HostedPulls", () => {
  it("recognises every loopback spelling of the daemon's own address, and nothing else", async () => {
    const seen = await run(
      Effect.map(HostedPulls, (p) =>
        [
          `127.0.0.1:${port}/alpha/web:v1`,
          `localhost:${port}/alpha/web:v1`,
          `LOCALHOST:${port}/alpha/web@sha256:${"a".repeat(64)}`,
          `[::1]:${port}/alpha/web:v1`,
          `0.0.0.0:${port}/alpha/web:v1`,
          `127.0.0.1:${port + 1}/alpha/web:v1`,
          "docker.io/alpha/web:v1",
          "alpha/web:v1"
        ].map((r) => Option.getOrUndefined(p.hostedReference(r))))
    )
    expect(seen.slice(0, 5).map((h) => h?.repository)).toEqual(["alpha/web", "alpha/web", "alpha/web", "alpha/web", "alpha/web"])
    expect(seen[2]?.suffix).toBe(`@sha256:${"a".repeat(64)}`)
    expect(seen[0]?.suffix).toBe(":v1")
    expect(seen.slice(5)).toEqual([undefined, undefined, undefined])
  })

  it("mints only from a grant; the token pulls exactly its repository, never pushes, and is gone once revoked", async () => {
    const result = await run(
      Effect.gen(function*() {
        const pulls = yield* HostedPulls
        const registry = yield* HostedRegistry
        const resolver = yield* PrincipalResolver
        const without = yield* pulls.mint("svc-1", "alpha/web")
        yield* pulls.grant("svc-1", "alpha/web", admin)
        const otherService = yield* pulls.mint("svc-2", "alpha/web")
        const token = Option.getOrThrow(yield* pulls.mint("svc-1", "alpha/web"))
        const principal = yield* registry.access.authenticate(basic(token))
        const own = yield* Effect.either(registry.access.repository(principal, "alpha/web", "pull"))
        const push = yield* Effect.either(registry.access.repository(principal, "alpha/web", "push"))
        const other = yield* Effect.either(registry.access.repository(principal, "beta/web", "pull"))
        const catalog = yield* registry.access.pullableProjects(principal)
        const onV1 = yield* resolver.resolve(token)
        yield* pulls.revoke(token)
        const afterRevoke = yield* Effect.either(registry.access.authenticate(`Bearer ${token}`))
        return { without, otherService, own, push, other, catalog, onV1, afterRevoke }
      })
    )
    expect(Option.isNone(result.without)).toBe(true)
    expect(Option.isNone(result.otherService)).toBe(true)
    expect(result.own._tag).toBe("Right")
    expect(result.push._tag).toBe("Left")
    expect(result.other._tag).toBe("Left")
    expect(result.catalog).toEqual([])
    expect(Option.isNone(result.onV1)).toBe(true)
    expect(result.afterRevoke._tag).toBe("Left")
  })
})
