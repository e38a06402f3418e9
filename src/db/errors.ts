import { Effect, Schema } from "effect"

export class MigrationFailed extends Schema.TaggedError<MigrationFailed>()("denia/db/MigrationFailed", {
  id: Schema.Number,
  name: Schema.String,
  message: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

export class DatabaseOpenFailed extends Schema.TaggedError<DatabaseOpenFailed>()("denia/db/DatabaseOpenFailed", {
  file: Schema.String,
  message: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * A SQL statement failed (I/O, corruption, a constraint nobody turned into a
 * domain error). Always an opaque 500 at the API: the body carries only an
 * error id, the daemon log carries the id with this cause.
 */
export class DatabaseError extends Schema.TaggedError<DatabaseError>()("denia/db/DatabaseError", {
  cause: Schema.Defect
}) {
  override get message(): string {
    return "database operation failed"
  }
}

/**
 * Turns the SQL client's failures into `DatabaseError` (the one typed SQL
 * failure; the API answers it with an opaque 500 and logs the cause).
 */
export const orDatabaseError = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, DatabaseError, R> =>
  Effect.mapError(effect, (cause) => new DatabaseError({ cause }))
