import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { NotFound } from "../domain/errors.js"
import type { User } from "../domain/identity.js"
import { uuidv7 } from "../domain/ids.js"
import { all, CountRow, dbFailureAsError, first, nowIso, orDbError, single, uniqueAsConflict } from "./sqlHelpers.js"

const Row = Schema.Struct({
  id: Schema.String,
  username: Schema.String,
  password_hash: Schema.String,
  super_admin: Schema.Number,
  created_at: Schema.String
})
type Row = typeof Row.Type

const toUser = (r: Row): User => ({ id: r.id, username: r.username, superAdmin: r.super_admin === 1, createdAt: r.created_at })

export class UsersRepo extends Effect.Service<UsersRepo>()("denia/repos/UsersRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const find = (id: string) => sql`SELECT * FROM users WHERE id = ${id}`.pipe(first("users", Row), Effect.map(Option.map(toUser)))

    const get = (id: string) =>
      find(id).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(new NotFound({ entity: "user", id })), onSome: Effect.succeed }))
      )

    /** User plus password hash, for login only. */
    const findWithHashByName = (username: string) =>
      sql`SELECT * FROM users WHERE username = ${username}`.pipe(
        first("users", Row),
        Effect.map(Option.map((r) => ({ user: toUser(r), passwordHash: r.password_hash })))
      )

    /** User plus password hash by id, for checking a user's current password. */
    const findWithHash = (id: string) =>
      sql`SELECT * FROM users WHERE id = ${id}`.pipe(
        first("users", Row),
        Effect.map(Option.map((r) => ({ user: toUser(r), passwordHash: r.password_hash })))
      )

    const list = sql`SELECT * FROM users ORDER BY username`.pipe(all("users", Row), Effect.map((rows) => rows.map(toUser)))

    const count = sql`SELECT COUNT(*) AS n FROM users`.pipe(single("users", CountRow), Effect.map((r) => r.n))

    const create = (input: { username: string; passwordHash: string; superAdmin: boolean }) =>
      Effect.gen(function*() {
        const id = uuidv7()
        const now = nowIso()
        yield* sql`INSERT INTO users (id, username, password_hash, super_admin, created_at, updated_at)
                   VALUES (${id}, ${input.username}, ${input.passwordHash}, ${input.superAdmin ? 1 : 0}, ${now}, ${now})`.pipe(
          uniqueAsConflict(`a user named ${JSON.stringify(input.username)} already exists`)
        )
        return yield* get(id).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
      })

    /** Creates the first user only if there is none, atomically. */
    const createFirst = (input: { username: string; passwordHash: string }) =>
      sql.withTransaction(
        Effect.gen(function*() {
          if ((yield* count) > 0) return Option.none<User>()
          return Option.some(yield* create({ ...input, superAdmin: true }))
        })
      ).pipe(dbFailureAsError)

    const update = (id: string, patch: { passwordHash?: string | undefined; superAdmin?: boolean | undefined }) =>
      Effect.gen(function*() {
        yield* get(id)
        if (patch.passwordHash !== undefined) {
          yield* sql`UPDATE users SET password_hash = ${patch.passwordHash}, updated_at = ${nowIso()} WHERE id = ${id}`.pipe(orDbError)
        }
        if (patch.superAdmin !== undefined) {
          yield* sql`UPDATE users SET super_admin = ${patch.superAdmin ? 1 : 0}, updated_at = ${nowIso()} WHERE id = ${id}`.pipe(orDbError)
        }
        return yield* get(id)
      })

    const remove = (id: string) =>
      Effect.gen(function*() {
        yield* get(id)
        yield* sql`DELETE FROM users WHERE id = ${id}`.pipe(orDbError)
      })

    return { find, get, findWithHashByName, findWithHash, list, count, create, createFirst, update, remove }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
