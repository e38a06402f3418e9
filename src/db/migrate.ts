/**
 * Runs pending migrations one step at a time. The Effect migrator wraps a run
 * in one transaction; feeding it a single new step per run makes every step
 * transactional together with its version row, so a crash or failure leaves
 * the previous version intact and the next boot retries the same step.
 */
import { Migrator, SqlClient } from "@effect/sql"
import { Cause, Effect, Schema } from "effect"
import { MigrationFailed } from "./errors.js"
import type { MigrationStep } from "./migrations/index.js"

const TABLE = "denia_migrations"

const VersionRows = Schema.Array(Schema.Struct({ v: Schema.NullOr(Schema.Number) }))

/** The highest applied migration; 0 before the first run (no table yet). A non-numeric version is a corrupt database (defect). */
const currentVersion = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql`SELECT MAX(migration_id) AS v FROM ${sql(TABLE)}`.pipe(
    Effect.catchAll(() => Effect.succeed([])),
    Effect.flatMap(Schema.decodeUnknown(VersionRows)),
    Effect.orDie
  )
  return rows[0]?.v ?? 0
})

export const migrate = (steps: ReadonlyArray<MigrationStep>) =>
  Effect.gen(function*() {
    const run = Migrator.make({})
    const applied: Array<number> = []
    for (const [index, step] of steps.entries()) {
      const version = yield* currentVersion
      if (step.id <= version) continue
      const prefix = steps.slice(0, index + 1)
      const loader = Effect.succeed(prefix.map((s) => [s.id, s.name, Effect.succeed(s.run)] as const))
      yield* run({ loader, table: TABLE }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.fail(
            new MigrationFailed({
              id: step.id,
              name: step.name,
              message: Cause.pretty(cause).split("\n").slice(0, 3).join(" ")
            })
          )
        )
      )
      applied.push(step.id)
    }
    return applied
  })

export const schemaVersion = currentVersion
