/**
 * What every repository shares: rows are decoded with a schema (never cast),
 * unique-constraint violations are recognised by the driver's error code, and
 * one policy decides what a failed query or an undecodable row becomes.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Option, ParseResult, Predicate, Schema } from "effect"
import { DatabaseError } from "../db/errors.js"
import { Conflict } from "../domain/errors.js"

/**
 * A row read from SQLite that does not match its schema (a malformed JSON
 * column, a missing column, a value of the wrong type). The database was
 * written only through these repositories, so this means it is corrupt.
 */
export class CorruptRow extends Schema.TaggedError<CorruptRow>()("denia/repos/CorruptRow", {
  table: Schema.String,
  message: Schema.String,
  cause: Schema.Defect
}) {}

/** better-sqlite3's extended result codes for a UNIQUE / PRIMARY KEY conflict. */
const UNIQUE_CODES: ReadonlySet<string> = new Set(["SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"])

/** Whether the query failed on a UNIQUE or PRIMARY KEY constraint (by the driver's `SqliteError.code`, not its message). */
export const isUniqueViolation = (error: SqlError): boolean => {
  const cause: unknown = error.cause
  return Predicate.hasProperty(cause, "code") && typeof cause.code === "string" && UNIQUE_CODES.has(cause.code)
}

/**
 * The one policy for failures below the repository API: SQL errors and
 * corrupt rows become the typed `DatabaseError` (a corrupt row is its cause),
 * which the API answers with an opaque 500 and an error id while the log
 * carries the cause. Repository methods fail with `DatabaseError` (and their
 * domain errors), never with a defect. A `DatabaseError` raised by a helper
 * inside the effect (a transaction body) passes through unchanged.
 */
export const orDbError = <A, R>(
  effect: Effect.Effect<A, SqlError | CorruptRow | DatabaseError, R>
): Effect.Effect<A, DatabaseError, R> => Effect.mapError(effect, (e) => (e instanceof DatabaseError ? e : new DatabaseError({ cause: e })))

const isDbFailure = (e: unknown): e is SqlError | CorruptRow => Predicate.isTagged(e, "SqlError") || e instanceof CorruptRow

/** `orDbError` for an effect that also fails with domain errors (a transaction body): those are kept. */
export const dbFailureAsError = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError | CorruptRow, R>
): Effect.Effect<A, Exclude<E, SqlError | CorruptRow> | DatabaseError, R> =>
  Effect.catchIf(effect, isDbFailure, (cause) => Effect.fail(new DatabaseError({ cause })))

/** Unique-constraint violations become a `Conflict` with the given message; other SQL errors follow `orDbError`. */
export const uniqueAsConflict =
  (message: string) => <A, R>(effect: Effect.Effect<A, SqlError, R>): Effect.Effect<A, Conflict | DatabaseError, R> =>
    effect.pipe(
      Effect.catchTag("SqlError", (e) => Effect.fail(isUniqueViolation(e) ? new Conflict({ message }) : new DatabaseError({ cause: e })))
    )

const corrupt = (table: string) => (e: ParseResult.ParseError) =>
  new CorruptRow({ table, message: `${table}: ${ParseResult.TreeFormatter.formatErrorSync(e)}`, cause: e })

/** Decodes every row with `schema`; a row that does not match fails with `CorruptRow` (typed). */
export const decodeRows = <A, I>(table: string, schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknown(Schema.Array(schema))
  return (rows: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<A>, CorruptRow> => Effect.mapError(decode(rows), corrupt(table))
}

/** The first row decoded with `schema`, None when there is none; `CorruptRow` (typed) when it does not match. */
export const decodeFirst = <A, I>(table: string, schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknown(schema)
  return (rows: ReadonlyArray<unknown>): Effect.Effect<Option.Option<A>, CorruptRow> =>
    rows.length === 0 ? Effect.succeedNone : Effect.mapError(Effect.asSome(decode(rows[0])), corrupt(table))
}

/** Runs `query` and decodes all its rows (failures per `orDbError`). */
export const all =
  <A, I>(table: string, schema: Schema.Schema<A, I>) =>
  <R>(query: Effect.Effect<ReadonlyArray<unknown>, SqlError, R>): Effect.Effect<ReadonlyArray<A>, DatabaseError, R> =>
    orDbError(Effect.flatMap(query, decodeRows(table, schema)))

/** Runs `query` and decodes its first row, if any (failures per `orDbError`). */
export const first =
  <A, I>(table: string, schema: Schema.Schema<A, I>) =>
  <R>(query: Effect.Effect<ReadonlyArray<unknown>, SqlError, R>): Effect.Effect<Option.Option<A>, DatabaseError, R> =>
    orDbError(Effect.flatMap(query, decodeFirst(table, schema)))

/** Runs `query` and decodes its first row, failing with `DatabaseError` (a `CorruptRow` inside) when there is none (aggregates always return one). */
export const single =
  <A, I>(table: string, schema: Schema.Schema<A, I>) =>
  <R>(query: Effect.Effect<ReadonlyArray<unknown>, SqlError, R>): Effect.Effect<A, DatabaseError, R> =>
    orDbError(
      Effect.flatMap(query, (rows) =>
        Effect.flatMap(
          decodeFirst(table, schema)(rows),
          Option.match({
            onNone: () => Effect.fail(new CorruptRow({ table, message: `${table}: the query returned no row`, cause: null })),
            onSome: Effect.succeed
          })
        ))
    )

/** A `COUNT(*) AS n` (or `EXISTS … AS n`) row. */
export const CountRow = Schema.Struct({ n: Schema.Number })

/** A TEXT column holding JSON, or NULL. */
export const NullableJson = <A, I>(schema: Schema.Schema<A, I>) => Schema.NullOr(Schema.parseJson(schema))

export const json = (value: unknown): string => JSON.stringify(value)

export const nowIso = (): string => new Date().toISOString()
