import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Either, Exit, Option, Schema } from "effect"
import { Conflict } from "../../../src/domain/errors.js"
import { CreateProject } from "../../../src/domain/project.js"
import { ProjectsRepo } from "../../../src/repos/ProjectsRepo.js"
import { isUniqueViolation, uniqueAsConflict } from "../../../src/repos/sqlHelpers.js"
import { UsersRepo } from "../../../src/repos/UsersRepo.js"
import { reposOnFile } from "./support.js"

const db = reposOnFile()
afterAll(() => db.cleanup())

/** The SqlError a statement fails with (the driver's SqliteError is its `cause`). */
const sqlErrorOf = <A, R>(effect: Effect.Effect<A, SqlError, R>) =>
  Effect.flatMap(Effect.either(effect), (e) => (Either.isLeft(e) ? Effect.succeed(e.left) : Effect.dieMessage("statement succeeded")))

describe("unique-constraint detection", () => {
  it.effect("UNIQUE and PRIMARY KEY conflicts are recognised by the driver's code", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE uv_pk (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER CHECK (n > 0))`
      yield* sql`INSERT INTO uv_pk (id, name, n) VALUES ('a', 'x', 1)`

      const unique = yield* sqlErrorOf(sql`INSERT INTO uv_pk (id, name, n) VALUES ('b', 'x', 1)`)
      expect(isUniqueViolation(unique)).toBe(true)
      const primaryKey = yield* sqlErrorOf(sql`INSERT INTO uv_pk (id, name, n) VALUES ('a', 'y', 1)`)
      expect(isUniqueViolation(primaryKey)).toBe(true)

      const notNull = yield* sqlErrorOf(sql`INSERT INTO uv_pk (id, name, n) VALUES ('c', NULL, 1)`)
      expect(isUniqueViolation(notNull)).toBe(false)
      const syntax = yield* sqlErrorOf(sql`INSERT INTO nowhere VALUES (1)`)
      expect(isUniqueViolation(syntax)).toBe(false)
      yield* sql`DROP TABLE uv_pk`
    }).pipe(Effect.provide(db.layer)))

  it.effect("a message that mentions UNIQUE is not enough: only the code counts", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      // a CHECK constraint whose name contains "unique": the old message regex took this for a conflict
      yield* sql`CREATE TABLE uv_check (name TEXT, CONSTRAINT unique_looking_name CHECK (length(name) > 0))`
      const check = yield* sqlErrorOf(sql`INSERT INTO uv_check (name) VALUES ('')`)
      expect(String(check.cause)).toMatch(/CHECK constraint failed: unique_looking_name/)
      expect(isUniqueViolation(check)).toBe(false)
      const exit = yield* Effect.exit(uniqueAsConflict("name: taken")(sql`INSERT INTO uv_check (name) VALUES ('')`))
      expect(Exit.isFailure(exit) && Option.getOrUndefined(Cause.failureOption(exit.cause))?._tag).toBe("denia/db/DatabaseError")
      yield* sql`DROP TABLE uv_check`

      // a cause without a driver code, however it is worded
      expect(isUniqueViolation(new SqlError({ cause: new Error("UNIQUE constraint failed: users.username"), message: "UNIQUE" }))).toBe(
        false
      )
      expect(isUniqueViolation(new SqlError({ cause: { code: "SQLITE_CONSTRAINT_UNIQUE" }, message: "x" }))).toBe(true)
    }).pipe(Effect.provide(db.layer)))

  it.effect("repositories turn a duplicate name into a typed Conflict", () =>
    Effect.gen(function*() {
      const projects = yield* ProjectsRepo
      yield* projects.create(Schema.decodeUnknownSync(CreateProject)({ name: "twice" }))
      const again = yield* Effect.either(projects.create(Schema.decodeUnknownSync(CreateProject)({ name: "twice" })))
      expect(Either.isLeft(again) && again.left instanceof Conflict && again.left.message).toBe("a project named \"twice\" already exists")

      const users = yield* UsersRepo
      yield* users.create({ username: "dup", passwordHash: "h", superAdmin: false })
      const dup = yield* Effect.either(users.create({ username: "dup", passwordHash: "h", superAdmin: false }))
      expect(Either.isLeft(dup) && dup.left instanceof Conflict).toBe(true)
    }).pipe(Effect.provide(db.layer)))
})
