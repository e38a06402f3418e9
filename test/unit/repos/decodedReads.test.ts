import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Either, Exit, Option, Schema } from "effect"
import { DatabaseError } from "../../../src/db/errors.js"
import { CreateProject } from "../../../src/domain/project.js"
import { CreateService } from "../../../src/domain/service.js"
import { AuditRepo } from "../../../src/repos/AuditRepo.js"
import { DeploymentsRepo } from "../../../src/repos/DeploymentsRepo.js"
import { DomainsRepo } from "../../../src/repos/DomainsRepo.js"
import { ProjectsRepo } from "../../../src/repos/ProjectsRepo.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { CorruptRow, decodeFirst, decodeRows } from "../../../src/repos/sqlHelpers.js"
import { reposOnFile } from "./support.js"

const db = reposOnFile()
afterAll(() => db.cleanup())

/**
 * The CorruptRow inside a typed `DatabaseError` failure (what every repository
 * read fails with on a bad row); None for a success, another error or a defect.
 */
const corruptRowOf = <A, E>(exit: Exit.Exit<A, E>): Option.Option<CorruptRow> =>
  Exit.isFailure(exit) && Option.isNone(Cause.dieOption(exit.cause))
    ? Option.flatMap(
      Cause.failureOption(exit.cause),
      (e: unknown) => (e instanceof DatabaseError && e.cause instanceof CorruptRow ? Option.some(e.cause) : Option.none())
    )
    : Option.none()

const newService = (projectName: string) =>
  Effect.gen(function*() {
    const project = yield* (yield* ProjectsRepo).create(Schema.decodeUnknownSync(CreateProject)({ name: projectName }))
    return yield* (yield* ServicesRepo).create(
      Schema.decodeUnknownSync(CreateService)({
        projectId: project.id,
        name: "web",
        source: { type: "image", image: "nginx:1.27" },
        port: 8080
      })
    )
  })

describe("decoded reads", () => {
  it.effect("decodeRows / decodeFirst fail with a typed CorruptRow naming the table", () =>
    Effect.gen(function*() {
      const Row = Schema.Struct({ n: Schema.Number, spec: Schema.parseJson(Schema.Struct({ a: Schema.String })) })
      const ok = yield* decodeRows("t", Row)([{ n: 1, spec: "{\"a\":\"x\"}" }])
      expect(ok).toEqual([{ n: 1, spec: { a: "x" } }])
      const bad = yield* Effect.either(decodeRows("t", Row)([{ n: 1, spec: "{not json" }]))
      expect(Either.isLeft(bad) && bad.left instanceof CorruptRow && bad.left.table === "t").toBe(true)
      const wrongType = yield* Effect.either(decodeFirst("t", Row)([{ n: "1", spec: "{\"a\":\"x\"}" }]))
      expect(Either.isLeft(wrongType) && wrongType.left._tag === "denia/repos/CorruptRow" && wrongType.left.message.startsWith("t: ")).toBe(
        true
      )
      expect(Option.isNone(yield* decodeFirst("t", Row)([]))).toBe(true)
    }))

  it.effect("a service whose spec column is malformed JSON is a CorruptRow, not a SyntaxError", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const services = yield* ServicesRepo
      const service = yield* newService("malformed-spec")
      expect((yield* services.get(service.id)).source).toEqual({ type: "image", image: "nginx:1.27", registryId: null })

      yield* sql`UPDATE services SET spec = ${"{not json"} WHERE id = ${service.id}`
      const corrupt = corruptRowOf(yield* Effect.exit(services.get(service.id)))
      expect(Option.map(corrupt, (e) => e.table)).toEqual(Option.some("services"))
      expect(Option.isSome(corrupt) && corrupt.value.message.length > 0).toBe(true)
      // listing hits the same row
      expect(Option.isSome(corruptRowOf(yield* Effect.exit(services.list({}))))).toBe(true)

      // well-formed JSON of the wrong shape is caught too (no cast lets it through)
      yield* sql`UPDATE services SET spec = ${JSON.stringify({ source: { type: "image" }, port: "80" })} WHERE id = ${service.id}`
      expect(Option.isSome(corruptRowOf(yield* Effect.exit(services.find(service.id))))).toBe(true)
      yield* sql`DELETE FROM services WHERE id = ${service.id}`
    }).pipe(Effect.provide(db.layer)))

  it.effect("a spec stored before a field existed reads with that field's default", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const service = yield* newService("old-spec")
      yield* sql`UPDATE services SET spec = ${
        JSON.stringify({ source: { type: "image", image: "nginx:1.27" }, port: 8080 })
      } WHERE id = ${service.id}`
      const read = yield* (yield* ServicesRepo).get(service.id)
      expect(read.endpoints).toEqual([])
      expect(read.env).toEqual({})
      expect(read.health).toEqual({ type: "http", path: "/", timeoutSeconds: 30 })
      expect(read.capabilities).toEqual({})
      expect(read.shmMb).toBe(64)
      yield* sql`DELETE FROM services WHERE id = ${service.id}`
    }).pipe(Effect.provide(db.layer)))

  it.effect("malformed JSON in projects, audit details and a bad enum in deployments/domains are CorruptRows", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const projects = yield* ProjectsRepo
      const service = yield* newService("corrupt-others")
      const project = yield* projects.get(service.projectId)

      yield* sql`UPDATE projects SET shared_env = ${"[1,"} WHERE id = ${project.id}`
      expect(Option.map(corruptRowOf(yield* Effect.exit(projects.get(project.id))), (e) => e.table)).toEqual(Option.some("projects"))
      yield* sql`UPDATE projects SET shared_env = '{}', default_limits = ${"{\"cpuMillis\":\"many\"}"} WHERE id = ${project.id}`
      expect(Option.isSome(corruptRowOf(yield* Effect.exit(projects.get(project.id))))).toBe(true)
      yield* sql`UPDATE projects SET default_limits = NULL WHERE id = ${project.id}`
      expect((yield* projects.get(project.id)).defaultLimits).toBeNull()

      const audit = yield* AuditRepo
      yield* audit.record({ actor: "test", action: "probe", outcome: "ok", details: { k: 1 } })
      expect((yield* audit.page(10, undefined)).items[0]?.details).toEqual({ k: 1 })
      yield* sql`UPDATE audit_log SET details = ${"{"} WHERE action = 'probe'`
      expect(Option.map(corruptRowOf(yield* Effect.exit(audit.page(10, undefined))), (e) => e.table)).toEqual(Option.some("audit_log"))

      const deployments = yield* DeploymentsRepo
      const deployment = yield* deployments.create(service.id, "nginx:1.27")
      yield* sql`PRAGMA ignore_check_constraints = ON`
      yield* sql`UPDATE deployments SET status = 'exploded' WHERE id = ${deployment.id}`
      expect(Option.map(corruptRowOf(yield* Effect.exit(deployments.get(deployment.id))), (e) => e.table)).toEqual(
        Option.some("deployments")
      )

      const domains = yield* DomainsRepo
      const domain = yield* domains.create({ serviceId: service.id, hostname: "corrupt.example.com", token: "t", proof: "p" })
      yield* sql`UPDATE domains SET cert_status = 'lost' WHERE id = ${domain.id}`
      expect(Option.isSome(corruptRowOf(yield* Effect.exit(domains.listAll)))).toBe(true)
      yield* sql`PRAGMA ignore_check_constraints = OFF`
    }).pipe(Effect.provide(db.layer)))
})
