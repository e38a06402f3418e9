import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import { Conflict } from "../domain/errors.js"

const causeMessage = (e: SqlError): string => {
  const cause = e.cause as { message?: unknown; code?: unknown } | undefined
  return `${String(cause?.code ?? "")} ${String(cause?.message ?? e.message)}`
}

/** Unique-constraint violations become a `Conflict` with the given message; other SQL errors are defects. */
export const uniqueAsConflict =
  (message: string) =>
  <A, R>(effect: Effect.Effect<A, SqlError, R>): Effect.Effect<A, Conflict, R> =>
    effect.pipe(
      Effect.catchTag("SqlError", (e) =>
        /UNIQUE|PRIMARYKEY/i.test(causeMessage(e)) ? Effect.fail(new Conflict({ message })) : Effect.die(e)
      )
    )

export const json = (value: unknown): string => JSON.stringify(value)
export const parseJson = <A>(text: string | null): A | null => (text === null ? null : (JSON.parse(text) as A))

export const nowIso = (): string => new Date().toISOString()
