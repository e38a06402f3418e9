import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { EnvMap } from "../domain/env.js"
import { Conflict, NotFound } from "../domain/errors.js"
import { uuidv7 } from "../domain/ids.js"
import { Limits } from "../domain/limits.js"
import type { CreateProject, Project, UpdateProject } from "../domain/project.js"
import { all, CountRow, dbFailureAsError, first, json, nowIso, NullableJson, orDbError, single, uniqueAsConflict } from "./sqlHelpers.js"

const Row = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  shared_env: Schema.parseJson(EnvMap),
  default_limits: NullableJson(Limits),
  created_at: Schema.String,
  updated_at: Schema.String
})
type Row = typeof Row.Type

const toProject = (r: Row): Project => ({
  id: r.id,
  name: r.name,
  sharedEnv: r.shared_env,
  defaultLimits: r.default_limits,
  createdAt: r.created_at,
  updatedAt: r.updated_at
})

export class ProjectsRepo extends Effect.Service<ProjectsRepo>()("denia/repos/ProjectsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const find = (id: string) =>
      sql`SELECT * FROM projects WHERE id = ${id}`.pipe(first("projects", Row), Effect.map(Option.map(toProject)))

    const get = (id: string) =>
      find(id).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(new NotFound({ entity: "project", id })), onSome: Effect.succeed }))
      )

    const findByName = (name: string) =>
      sql`SELECT * FROM projects WHERE name = ${name}`.pipe(first("projects", Row), Effect.map(Option.map(toProject)))

    const list = sql`SELECT * FROM projects ORDER BY name`.pipe(all("projects", Row), Effect.map((rows) => rows.map(toProject)))

    const create = (input: CreateProject) =>
      Effect.gen(function*() {
        const now = nowIso()
        const id = uuidv7()
        yield* sql`INSERT INTO projects (id, name, shared_env, default_limits, created_at, updated_at)
                   VALUES (${id}, ${input.name}, ${json(input.sharedEnv)}, ${
          input.defaultLimits === null ? null : json(input.defaultLimits)
        }, ${now}, ${now})`.pipe(
          uniqueAsConflict(`a project named ${JSON.stringify(input.name)} already exists`)
        )
        return yield* get(id).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
      })

    const update = (id: string, patch: UpdateProject) =>
      Effect.gen(function*() {
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
        Effect.gen(function*() {
          yield* get(id)
          const { n } = yield* sql`SELECT COUNT(*) AS n FROM services WHERE project_id = ${id}`.pipe(single("services", CountRow))
          if (n > 0) {
            return yield* new Conflict({ message: `project still has ${n} service(s); delete them first` })
          }
          yield* sql`DELETE FROM projects WHERE id = ${id}`.pipe(orDbError)
        })
      ).pipe(dbFailureAsError)

    return { find, get, findByName, list, create, update, remove }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
