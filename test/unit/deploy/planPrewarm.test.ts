/** What a base prewarm may pull with (deploy/basePrewarm.ts, ADR 0805): never more than the build itself. */
import { Effect, Layer, Option, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DeniaConfig } from "../../../src/config/Config.js"
import { planPrewarm } from "../../../src/deploy/basePrewarm.js"
import { uuidv7 } from "../../../src/domain/ids.js"
import { Registry } from "../../../src/domain/registry.js"
import type { RegistryCredentials } from "../../../src/oci/auth.js"
import { HostedPulls } from "../../../src/registry/hostedPulls.js"
import { Registries } from "../../../src/secrets/registries.js"
import { testConfig } from "../../support/daemon.js"
import { makeTempDir } from "../../support/tempDir.js"

const projectId = uuidv7()
const ghcr = Schema.decodeUnknownSync(Registry)({
  id: uuidv7(),
  projectId,
  name: "ghcr",
  endpoint: "https://ghcr.io",
  auth: { kind: "basic", username: "bot" },
  createdAt: new Date(0).toISOString(),
  updatedAt: new Date(0).toISOString()
})
const ghcrCredentials: RegistryCredentials = { kind: "basic", username: "bot", password: "ghcr-secret" }
const unused = () => Effect.die("not used by planPrewarm")

const registriesFake = Registries.make({
  list: (p) => Effect.succeed(p === projectId ? [ghcr] : []),
  get: unused,
  create: unused,
  update: unused,
  remove: unused,
  resolveCredentials: (p, id) => (p === projectId && id === ghcr.id ? Effect.succeed(ghcrCredentials) : Effect.die("no such registry")),
  checkServiceSource: unused,
  checkRegistryFor: unused,
  credentialsForImage: unused
})

let cleanup: () => void
let run: <A>(eff: Effect.Effect<A, never, HostedPulls | Registries>) => Promise<A>
let address = ""
const service = { id: uuidv7(), name: "app", projectId }

beforeAll(async () => {
  const temp = makeTempDir()
  cleanup = temp.cleanup
  const config = await testConfig(temp.dir)
  const layer = Layer.merge(HostedPulls.layer.pipe(Layer.provide(DeniaConfig.layer(config))), Layer.succeed(Registries, registriesFake))
  run = (eff) => Effect.runPromise(Effect.provide(eff, layer))
  address = config.values.bindAddr
})
afterAll(() => cleanup())

describe("planPrewarm", () => {
  it("skips a hosted base without the service's build grant, and one of another project even with it", async () => {
    const plan = await run(planPrewarm(service, "web", `${address}/web/base:py`))
    expect(plan).toEqual({ _tag: "skip", reason: "no build authorization for this service" })
    const other = await run(
      Effect.gen(function*() {
        const pulls = yield* HostedPulls
        yield* pulls.grant(service.id, "web/app", { kind: "adminToken", superAdmin: true })
        return yield* planPrewarm(service, "web", `${address}/other/base:py`)
      })
    )
    expect(other).toEqual({ _tag: "skip", reason: "other/base is not a repository of project web" })
  })

  it("pulls a hosted base of the project with a revocable build token of the grant", async () => {
    const result = await run(
      Effect.gen(function*() {
        const pulls = yield* HostedPulls
        yield* pulls.grant(service.id, "web/app", { kind: "adminToken", superAdmin: true })
        const plan = yield* planPrewarm(service, "web", `localhost:${address.split(":")[1]}/web/base:py`)
        const scope = plan._tag === "pull" && plan.token !== undefined ? pulls.verify(plan.token) : Option.none()
        if (plan._tag === "pull" && plan.token !== undefined) yield* pulls.revoke(plan.token)
        const after = plan._tag === "pull" && plan.token !== undefined ? pulls.verify(plan.token) : Option.none()
        return { plan, scope, after }
      })
    )
    expect(result.plan).toMatchObject({ _tag: "pull", reference: `${address}/web/base:py` })
    expect(Option.isSome(result.scope)).toBe(true)
    // pull-only, for the base alone: never the build's push or its pull of anything the principal may read
    const scope = Option.getOrThrow(result.scope)
    expect([...scope.repositories]).toEqual(["web/base"])
    expect(scope.push).toBeUndefined()
    expect(scope.pullAny).toBeUndefined()
    expect(Option.isNone(result.after)).toBe(true)
  })

  it("uses the project registry's credentials only for its own host, anonymous elsewhere", async () => {
    expect(await run(planPrewarm(service, "web", "ghcr.io/acme/base:1"))).toEqual({
      _tag: "pull",
      reference: "ghcr.io/acme/base:1",
      credentials: ghcrCredentials
    })
    expect(await run(planPrewarm(service, "web", "python:3.12-slim"))).toEqual({
      _tag: "pull",
      reference: "python:3.12-slim",
      credentials: { kind: "anonymous" }
    })
    expect(await run(planPrewarm({ ...service, projectId: uuidv7() }, "web", "ghcr.io/acme/base:1"))).toMatchObject({
      credentials: { kind: "anonymous" }
    })
  })
})
