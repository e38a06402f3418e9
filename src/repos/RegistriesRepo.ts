/**
 * Project registries. Rows hold the endpoint, the credential kind, the
 * username (not secret; shown to admins) and a SecretStore reference; never
 * a password or token.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { Conflict, NotFound } from "../domain/errors.js"
import { uuidv7 } from "../domain/ids.js"
import { RegistryAuthKind, type StoredRegistry } from "../domain/registry.js"
import { all, dbFailureAsError, first, nowIso, orDbError, uniqueAsConflict } from "./sqlHelpers.js"

const Row = Schema.Struct({
  id: Schema.String,
  project_id: Schema.String,
  name: Schema.String,
  endpoint: Schema.String,
  auth_kind: RegistryAuthKind,
  auth_username: Schema.NullOr(Schema.String),
  secret_ref: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  updated_at: Schema.String
})
type Row = typeof Row.Type

const NameRow = Schema.Struct({ name: Schema.String })

const toRegistry = (r: Row): StoredRegistry => ({
  id: r.id,
  projectId: r.project_id,
  name: r.name,
  endpoint: r.endpoint,
  auth: r.auth_username === null ? { kind: r.auth_kind } : { kind: r.auth_kind, username: r.auth_username },
  secretRef: r.secret_ref,
  createdAt: r.created_at,
  updatedAt: r.updated_at
})

export interface RegistryRecord {
  readonly name: string
  readonly endpoint: string
  readonly authKind: RegistryAuthKind
  readonly authUsername: string | null
  readonly secretRef: string | null
}

const duplicate = (name: string) => `a registry named ${JSON.stringify(name)} already exists in this project`

export class RegistriesRepo extends Effect.Service<RegistriesRepo>()("denia/repos/RegistriesRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** A registry of this project (a registry of another project is "not found"). */
    const find = (projectId: string, id: string) =>
      sql`SELECT * FROM registries WHERE id = ${id} AND project_id = ${projectId}`.pipe(
        first("registries", Row),
        Effect.map(Option.map(toRegistry))
      )

    const get = (projectId: string, id: string) =>
      find(projectId, id).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(new NotFound({ entity: "registry", id })), onSome: Effect.succeed }))
      )

    const list = (projectId: string) =>
      sql`SELECT * FROM registries WHERE project_id = ${projectId} ORDER BY name`.pipe(
        all("registries", Row),
        Effect.map((rows) => rows.map(toRegistry))
      )

    const create = (projectId: string, input: RegistryRecord) =>
      Effect.gen(function*() {
        const id = uuidv7()
        const now = nowIso()
        yield* sql`INSERT INTO registries (id, project_id, name, endpoint, auth_kind, auth_username, secret_ref, created_at, updated_at)
                   VALUES (${id}, ${projectId}, ${input.name}, ${input.endpoint}, ${input.authKind}, ${input.authUsername},
                           ${input.secretRef}, ${now}, ${now})`.pipe(uniqueAsConflict(duplicate(input.name)))
        return yield* get(projectId, id).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
      })

    /**
     * Replaces the row's fields. Returns the updated registry and the secret
     * ref the row held just before (read in the same transaction), so the
     * caller can remove a file no row points at any more.
     */
    const update = (projectId: string, id: string, next: RegistryRecord) =>
      sql
        .withTransaction(
          Effect.gen(function*() {
            const previous = yield* get(projectId, id)
            yield* sql`UPDATE registries SET name = ${next.name}, endpoint = ${next.endpoint}, auth_kind = ${next.authKind},
                       auth_username = ${next.authUsername}, secret_ref = ${next.secretRef}, updated_at = ${nowIso()}
                       WHERE id = ${id} AND project_id = ${projectId}`.pipe(uniqueAsConflict(duplicate(next.name)))
            const updated = yield* get(projectId, id)
            return { updated, previousRef: previous.secretRef }
          })
        )
        .pipe(dbFailureAsError)

    /** Names of the services whose `source.registryId` points at this registry. */
    const referencingServices = (id: string) =>
      sql`SELECT name FROM services WHERE json_extract(spec, '$.source.registryId') = ${id} ORDER BY name`.pipe(
        all("services", NameRow),
        Effect.map((rows) => rows.map((r) => r.name))
      )

    /** Deletes the row unless a service still references it (409); returns the deleted registry. */
    const remove = (projectId: string, id: string) =>
      sql
        .withTransaction(
          Effect.gen(function*() {
            const current = yield* get(projectId, id)
            const users = yield* referencingServices(id)
            if (users.length > 0) {
              return yield* new Conflict({
                message: `registry is used by service(s) ${
                  users.map((n) => JSON.stringify(n)).join(", ")
                }; change their source.registryId first`
              })
            }
            yield* sql`DELETE FROM registries WHERE id = ${id} AND project_id = ${projectId}`.pipe(orDbError)
            return current
          })
        )
        .pipe(dbFailureAsError)

    return { find, get, list, create, update, referencingServices, remove }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
