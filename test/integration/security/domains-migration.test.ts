/**
 * Migration 0007 (domain claims) keeps the domains written under 0006 and
 * replaces the node-wide UNIQUE(hostname) with "one verified owner".
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { sqliteLayer } from "../../../src/db/Database.js"
import { migrate } from "../../../src/db/migrate.js"
import { migrations } from "../../../src/db/migrations/index.js"
import { makeTempDir } from "../../support/tempDir.js"

const temp = makeTempDir()
afterAll(() => temp.cleanup())

const withDb = <A, E>(file: string, effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.runPromise(Effect.scoped(Effect.provide(effect, sqliteLayer(file))))

describe("migration 0007_domain_claims", () => {
  it("carries 0006 rows over and only verified hostnames stay unique", async () => {
    const file = path.join(temp.dir, "denia.sqlite")
    const upTo6 = migrations.filter((m) => m.id <= 6)
    expect(upTo6.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6])
    await withDb(file, migrate(upTo6))
    const t = "2026-01-01T00:00:00.000Z"
    await withDb(
      file,
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const [project] = yield* sql<{ id: string }>`SELECT id FROM projects`
        for (const id of ["s1", "s2"]) {
          yield* sql`INSERT INTO services (id, project_id, name, spec, created_at, updated_at)
                     VALUES (${id}, ${project?.id ?? ""}, ${`svc-${id}`}, '{}', ${t}, ${t})`
        }
        yield* sql`INSERT INTO domains (id, service_id, hostname, status, token, proof, verified_at, created_at, updated_at)
                   VALUES ('d1', 's1', 'kept.example.test', 'verified', 'tok', 'proof', ${t}, ${t}, ${t})`
      })
    )
    expect(await withDb(file, migrate(migrations))).toEqual(migrations.filter((m) => m.id > 6).map((m) => m.id))
    const rows = await withDb(
      file,
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<{ id: string; status: string; status_reason: string | null }>`SELECT id, status, status_reason FROM domains`
      )
    )
    expect(rows).toEqual([{ id: "d1", status: "verified", status_reason: null }])
    const insert = (id: string, service: string, status: string) =>
      withDb(
        file,
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) =>
            sql`INSERT INTO domains (id, service_id, hostname, status, token, proof, created_at, updated_at)
                       VALUES (${id}, ${service}, 'open.example.test', ${status}, ${id}, 'p', ${t}, ${t})`
        ).pipe(Effect.either)
      )
    expect((await insert("p1", "s1", "pending"))._tag).toBe("Right")
    expect((await insert("p2", "s2", "pending"))._tag).toBe("Right")
    expect((await insert("p3", "s2", "pending"))._tag).toBe("Left")
    expect((await insert("v1", "s1", "verified"))._tag).toBe("Right")
    expect((await insert("v2", "s2", "verified"))._tag).toBe("Left")
  })
})
