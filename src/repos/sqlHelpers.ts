/**
 * What every repository shares: rows are decoded with a schema (never cast),
 * unique-constraint violations are recognised by the driver's error code, and
 * one policy decides what a failed query or an undecodable row becomes.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Option, ParseResult, Predicate, Schema } from "effect"
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
 * corrupt rows are defects (logged with their cause by whoever runs the
 * effect; the API answers 500). Repository methods keep `never` (or their
 * domain errors) as the error channel.
 */
export const orDieDb = <A, R>(effect: Effect.Effect<A, SqlError | CorruptRow, R>): Effect.Effect<A, never, R> => Effect.orDie(effect)

const isDbFailure = (e: unknown): e is SqlError | CorruptRow => Predicate.isTagged(e, "SqlError") || e instanceof CorruptRow

/** `orDieDb` for an effect that also fails with domain errors (a transaction body): those are kept. */
export const dieOnDbFailure = <A, E, R>(effect: Effect.Effect<A, E | SqlError | CorruptRow, R>): Effect.Effect<A, E, R> =>
  Effect.catchAll(effect, (e) => (isDbFailure(e) ? orDieDb(Effect.fail(e)) : Effect.fail(e)))

/** Unique-constraint violations become a `Conflict` with the given message; other SQL errors follow `orDieDb`. */
export const uniqueAsConflict = (message: string) => <A, R>(effect: Effect.Effect<A, SqlError, R>): Effect.Effect<A, Conflict, R> =>
  effect.pipe(Effect.catchTag("SqlError", (e) => (isUniqueViolation(e) ? Effect.fail(new Conflict({ message })) : orDieDb(Effect.fail(e)))))

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

/** Runs `query` and decodes all its rows (failures per `orDieDb`). */
export const all =
  <A, I>(table: string, schema: Schema.Schema<A, I>) =>
  <R>(query: Effect.Effect<ReadonlyArray<unknown>, SqlError, R>): Effect.Effect<ReadonlyArray<A>, never, R> =>
    orDieDb(Effect.flatMap(query, decodeRows(table, schema)))

/** Runs `query` and decodes its first row, if any (failures per `orDieDb`). */
export const first =
  <A, I>(table: string, schema: Schema.Schema<A, I>) =>
  <R>(query: Effect.Effect<ReadonlyArray<unknown>, SqlError, R>): Effect.Effect<Option.Option<A>, never, R> =>
    orDieDb(Effect.flatMap(query, decodeFirst(table, schema)))

/** Runs `query` and decodes its first row, failing with `CorruptRow` when there is none (aggregates always return one). */
export const single =
  <A, I>(table: string, schema: Schema.Schema<A, I>) =>
  <R>(query: Effect.Effect<ReadonlyArray<unknown>, SqlError, R>): Effect.Effect<A, never, R> =>
    orDieDb(
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
