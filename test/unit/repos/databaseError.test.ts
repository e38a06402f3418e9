import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Logger, LogLevel, Option, Predicate } from "effect"
import { mapDomainErrors } from "../../../src/api/server/errorMapping.js"
import { DatabaseError } from "../../../src/db/errors.js"
import { UsersRepo } from "../../../src/repos/UsersRepo.js"
import { reposOnFile } from "./support.js"

const db = reposOnFile()
afterAll(() => db.cleanup())

/** The typed DatabaseError of a failed exit whose cause is the driver's SqlError; None for anything else (a defect included). */
const sqlFailureOf = <A, E>(exit: Exit.Exit<A, E>): Option.Option<DatabaseError> =>
  Exit.isFailure(exit) && Option.isNone(Cause.dieOption(exit.cause))
    ? Option.flatMap(
      Cause.failureOption(exit.cause),
      (e: unknown) => (e instanceof DatabaseError && Predicate.isTagged(e.cause, "SqlError") ? Option.some(e) : Option.none())
    )
    : Option.none()

describe("repositories on a broken database", () => {
  it.effect("a failing statement is a typed DatabaseError (not a defect) on reads, writes and transactions", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const users = yield* UsersRepo
      const alice = yield* users.create({ username: "alice", passwordHash: "h", superAdmin: false })
      // A unique violation is still the domain's Conflict, not a DatabaseError.
      const dup = yield* Effect.exit(users.create({ username: "alice", passwordHash: "h", superAdmin: false }))
      expect(Exit.isFailure(dup) && Option.getOrUndefined(Cause.failureOption(dup.cause))?._tag).toBe("denia/domain/Conflict")

      // The table the repository reads and writes is gone: every statement fails in the driver.
      yield* sql`ALTER TABLE users RENAME TO users_gone`
      expect(Option.isSome(sqlFailureOf(yield* Effect.exit(users.list)))).toBe(true)
      expect(Option.isSome(sqlFailureOf(yield* Effect.exit(users.count)))).toBe(true)
      expect(Option.isSome(sqlFailureOf(yield* Effect.exit(users.find(alice.id))))).toBe(true)
      expect(Option.isSome(sqlFailureOf(yield* Effect.exit(users.create({ username: "bob", passwordHash: "h", superAdmin: false })))))
        .toBe(true)
      expect(Option.isSome(sqlFailureOf(yield* Effect.exit(users.createFirst({ username: "carol", passwordHash: "h" }))))).toBe(true)
      // The body carries no SQL: the error's message is the opaque one the API logs next to its cause.
      const failure = sqlFailureOf(yield* Effect.exit(users.list))
      expect(Option.map(failure, (e) => e.message)).toEqual(Option.some("database operation failed"))
      // Through a handler's error map it is the opaque 500: an error id, no SQL, no table name.
      const answered = yield* Effect.exit(mapDomainErrors(users.list).pipe(Logger.withMinimumLogLevel(LogLevel.None)))
      const apiError = Exit.isFailure(answered) ? Option.getOrUndefined(Cause.failureOption(answered.cause)) : undefined
      expect(apiError?._tag).toBe("InternalError")
      expect(apiError?.message).toBe("internal error")
      expect(apiError?.details).toEqual({ errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) })
    }).pipe(Effect.provide(db.layer)))
})
