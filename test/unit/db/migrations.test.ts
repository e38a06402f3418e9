import { SqlClient } from "@effect/sql"
import { Effect, Either, Layer } from "effect"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { Database, sqliteLayer } from "../../../src/db/Database.js"
import { migrate, schemaVersion } from "../../../src/db/migrate.js"
import { migrations, type MigrationStep } from "../../../src/db/migrations/index.js"
import { makeTempDir } from "../../support/tempDir.js"

const temps: Array<() => void> = []
afterEach(() => temps.splice(0).forEach((c) => c()))
const dbFile = () => {
  const t = makeTempDir()
  temps.push(t.cleanup)
  return path.join(t.dir, "denia.sqlite")
}

const withDb = <A, E>(file: string, effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.runPromise(Effect.scoped(Effect.provide(effect, sqliteLayer(file))))

const tables = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`.pipe(
      Effect.map((rows) => rows.map((r) => r.name))
    )
)

describe("migrations", () => {
  it("bring a fresh database to the latest version and seed the default project", async () => {
    const file = dbFile()
    const applied = await withDb(file, migrate(migrations))
    expect(applied).toEqual(migrations.map((m) => m.id))
    const [version, names, projects] = await withDb(
      file,
      Effect.all([schemaVersion, tables, Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ name: string }>`SELECT name FROM projects`)])
    )
    expect(version).toBe(migrations.at(-1)?.id)
    expect(names).toEqual(expect.arrayContaining(["projects", "services", "deployments"]))
    expect(projects.map((p) => p.name)).toEqual(["default"])
  })

  it("re-running is a no-op (no duplicate seed)", async () => {
    const file = dbFile()
    await withDb(file, migrate(migrations))
    const second = await withDb(file, migrate(migrations))
    expect(second).toEqual([])
    const count = await withDb(
      file,
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT COUNT(*) AS n FROM projects`)
    )
    expect(count[0]?.n).toBe(1)
  })

  it("a failing step leaves the previous version and none of its partial schema", async () => {
    const file = dbFile()
    const failing: MigrationStep = {
      id: 99,
      name: "half_done",
      run: Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE half_done (id TEXT)`
        yield* sql`THIS IS NOT SQL`
      })
    }
    const result = await withDb(file, Effect.either(migrate([...migrations, failing])))
    expect(Either.isLeft(result) && result.left._tag).toBe("denia/db/MigrationFailed")
    expect(Either.isLeft(result) && result.left.id).toBe(99)
    const [version, names] = await withDb(file, Effect.all([schemaVersion, tables]))
    expect(version).toBe(migrations.at(-1)?.id)
    expect(names).not.toContain("half_done")
    // the next boot retries the step: once fixed, it applies
    const fixed: MigrationStep = { ...failing, run: Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE half_done (id TEXT)`) }
    expect(await withDb(file, migrate([...migrations, fixed]))).toEqual([99])
  })

  it("opens with WAL, foreign keys and a busy timeout", async () => {
    const file = dbFile()
    const pragmas = await Effect.runPromise(
      Effect.scoped(
        Effect.provide(
          Effect.flatMap(
            SqlClient.SqlClient,
            (sql) =>
              Effect.all([
                sql<{ journal_mode: string }>`PRAGMA journal_mode`,
                sql<{ foreign_keys: number }>`PRAGMA foreign_keys`,
                sql<{ timeout: number }>`PRAGMA busy_timeout`
              ])
          ),
          Layer.provideMerge(Database.layer(file), Layer.empty)
        )
      )
    )
    expect(pragmas[0][0]?.journal_mode).toBe("wal")
    expect(pragmas[1][0]?.foreign_keys).toBe(1)
    expect(pragmas[2][0]?.timeout).toBeGreaterThan(0)
  })
})
