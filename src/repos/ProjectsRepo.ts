import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import type { EnvMap } from "../domain/env.js"
import { Conflict, NotFound } from "../domain/errors.js"
import { uuidv7 } from "../domain/ids.js"
import type { Limits } from "../domain/limits.js"
import type { CreateProject, Project, UpdateProject } from "../domain/project.js"
import { json, nowIso, parseJson, uniqueAsConflict } from "./sqlHelpers.js"

interface Row {
  id: string
  name: string
  shared_env: string
  default_limits: string | null
  created_at: string
  updated_at: string
}

const toProject = (r: Row): Project => ({
  id: r.id,
  name: r.name,
  sharedEnv: parseJson<EnvMap>(r.shared_env) ?? {},
  defaultLimits: parseJson<Limits>(r.default_limits),
  createdAt: r.created_at,
  updatedAt: r.updated_at
})

export class ProjectsRepo extends Effect.Service<ProjectsRepo>()("denia/repos/ProjectsRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const find = (id: string) =>
      sql<Row>`SELECT * FROM projects WHERE id = ${id}`.pipe(
        Effect.orDie,
        Effect.map((rows) => Option.fromNullable(rows[0]).pipe(Option.map(toProject)))
      )

    const get = (id: string) =>
      find(id).pipe(Effect.flatMap(Option.match({ onNone: () => Effect.fail(new NotFound({ entity: "project", id })), onSome: Effect.succeed })))

    const findByName = (name: string) =>
      sql<Row>`SELECT * FROM projects WHERE name = ${name}`.pipe(
        Effect.orDie,
        Effect.map((rows) => Option.fromNullable(rows[0]).pipe(Option.map(toProject)))
      )

    const list = sql<Row>`SELECT * FROM projects ORDER BY name`.pipe(Effect.orDie, Effect.map((rows) => rows.map(toProject)))

    const create = (input: CreateProject) =>
      Effect.gen(function* () {
        const now = nowIso()
        const id = uuidv7()
        yield* sql`INSERT INTO projects (id, name, shared_env, default_limits, created_at, updated_at)
                   VALUES (${id}, ${input.name}, ${json(input.sharedEnv)}, ${input.defaultLimits === null ? null : json(input.defaultLimits)}, ${now}, ${now})`.pipe(
          uniqueAsConflict(`a project named ${JSON.stringify(input.name)} already exists`)
        )
        return yield* get(id).pipe(Effect.orDie)
      })

    const update = (id: string, patch: UpdateProject) =>
      Effect.gen(function* () {
        const current = yield* get(id)
        const next = {
          name: patch.name ?? current.name,
          sharedEnv: patch.sharedEnv ?? current.sharedEnv,
          defaultLimits: patch.defaultLimits === undefined ? current.defaultLimits : patch.defaultLimits
        }
        yield* sql`UPDATE projects SET name = ${next.name}, shared_env = ${json(next.sharedEnv)},
                   default_limits = ${next.defaultLimits === null ? null : json(next.defaultLimits)}, updated_at = ${nowIso()}
                   WHERE id = ${id}`.pipe(uniqueAsConflict(`a project named ${JSON.stringify(next.name)} already exists`))
        return yield* get(id)
      })

    /** Refuses (409) while the project still has services (jobs join this check when they exist). */
    const remove = (id: string) =>
      sql.withTransaction(
        Effect.gen(function* () {
          yield* get(id)
          const rows = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM services WHERE project_id = ${id}`.pipe(Effect.orDie)
          const n = rows[0]?.n ?? 0
          if (n > 0) {
            return yield* new Conflict({ message: `project still has ${n} service(s); delete them first` })
          }
          yield* sql`DELETE FROM projects WHERE id = ${id}`.pipe(Effect.orDie)
        })
      ).pipe(Effect.catchTag("SqlError", Effect.die))

    return { find, get, findByName, list, create, update, remove }
  })
}) {}
