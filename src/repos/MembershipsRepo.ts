import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { ProjectRole } from "../domain/principal.js"
import { NotFound } from "../domain/errors.js"
import type { Membership } from "../domain/identity.js"
import { nowIso } from "./sqlHelpers.js"

interface Row {
  project_id: string
  user_id: string
  role: ProjectRole
  created_at: string
}

const toMembership = (r: Row): Membership => ({ projectId: r.project_id, userId: r.user_id, role: r.role, createdAt: r.created_at })

export class MembershipsRepo extends Effect.Service<MembershipsRepo>()("denia/repos/MembershipsRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const roleOf = (userId: string, projectId: string) =>
      sql<Row>`SELECT * FROM memberships WHERE user_id = ${userId} AND project_id = ${projectId}`.pipe(
        Effect.orDie,
        Effect.map((rows) => rows[0]?.role)
      )

    const forUser = (userId: string) =>
      sql<Row>`SELECT * FROM memberships WHERE user_id = ${userId} ORDER BY project_id`.pipe(Effect.orDie, Effect.map((rows) => rows.map(toMembership)))

    const forProject = (projectId: string) =>
      sql<Row>`SELECT * FROM memberships WHERE project_id = ${projectId} ORDER BY created_at`.pipe(
        Effect.orDie,
        Effect.map((rows) => rows.map(toMembership))
      )

    /** Adds the user to the project or changes their role. */
    const set = (projectId: string, userId: string, role: ProjectRole) =>
      Effect.gen(function* () {
        yield* sql`INSERT INTO memberships (project_id, user_id, role, created_at) VALUES (${projectId}, ${userId}, ${role}, ${nowIso()})
                   ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`.pipe(Effect.orDie)
        const rows = yield* sql<Row>`SELECT * FROM memberships WHERE user_id = ${userId} AND project_id = ${projectId}`.pipe(Effect.orDie)
        const row = rows[0]
        if (row === undefined) return yield* Effect.die(new Error("membership vanished after upsert"))
        return toMembership(row)
      })

    const remove = (projectId: string, userId: string) =>
      Effect.gen(function* () {
        const rows = yield* sql<Row>`DELETE FROM memberships WHERE project_id = ${projectId} AND user_id = ${userId} RETURNING *`.pipe(Effect.orDie)
        if (rows.length === 0) return yield* new NotFound({ entity: "membership", id: userId })
      })

    return { roleOf, forUser, forProject, set, remove }
  })
}) {}
