import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { NotFound } from "../domain/errors.js"
import { type Membership, Role } from "../domain/identity.js"
import type { ProjectRole } from "../domain/principal.js"
import { all, first, nowIso, orDbError } from "./sqlHelpers.js"

const Row = Schema.Struct({
  project_id: Schema.String,
  user_id: Schema.String,
  role: Role,
  created_at: Schema.String
})
type Row = typeof Row.Type

const toMembership = (r: Row): Membership => ({ projectId: r.project_id, userId: r.user_id, role: r.role, createdAt: r.created_at })

export class MembershipsRepo extends Effect.Service<MembershipsRepo>()("denia/repos/MembershipsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const roleOf = (userId: string, projectId: string) =>
      sql`SELECT * FROM memberships WHERE user_id = ${userId} AND project_id = ${projectId}`.pipe(
        first("memberships", Row),
        Effect.map((row): ProjectRole | undefined => Option.getOrUndefined(row)?.role)
      )

    const forUser = (userId: string) =>
      sql`SELECT * FROM memberships WHERE user_id = ${userId} ORDER BY project_id`.pipe(
        all("memberships", Row),
        Effect.map((rows) => rows.map(toMembership))
      )

    const forProject = (projectId: string) =>
      sql`SELECT * FROM memberships WHERE project_id = ${projectId} ORDER BY created_at`.pipe(
        all("memberships", Row),
        Effect.map((rows) => rows.map(toMembership))
      )

    /** Adds the user to the project or changes their role. */
    const set = (projectId: string, userId: string, role: ProjectRole) =>
      Effect.gen(function*() {
        yield* sql`INSERT INTO memberships (project_id, user_id, role, created_at) VALUES (${projectId}, ${userId}, ${role}, ${nowIso()})
                   ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`.pipe(orDbError)
        const row = yield* sql`SELECT * FROM memberships WHERE user_id = ${userId} AND project_id = ${projectId}`.pipe(
          first("memberships", Row)
        )
        if (Option.isNone(row)) return yield* Effect.die(new Error("membership vanished after upsert"))
        return toMembership(row.value)
      })

    const remove = (projectId: string, userId: string) =>
      Effect.gen(function*() {
        const rows = yield* sql`DELETE FROM memberships WHERE project_id = ${projectId} AND user_id = ${userId} RETURNING project_id`.pipe(
          orDbError
        )
        if (rows.length === 0) return yield* new NotFound({ entity: "membership", id: userId })
      })

    return { roleOf, forUser, forProject, set, remove }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
