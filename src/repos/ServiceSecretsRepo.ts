/** Service secret env vars: name + SecretStore reference per service. Values are never stored here. */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { all, first, nowIso, orDbError } from "./sqlHelpers.js"

const Row = Schema.Struct({
  service_id: Schema.String,
  name: Schema.String,
  secret_ref: Schema.String,
  created_at: Schema.String,
  updated_at: Schema.String
})
type Row = typeof Row.Type

export interface ServiceSecretRow {
  readonly serviceId: string
  readonly name: string
  readonly secretRef: string
  readonly createdAt: string
  readonly updatedAt: string
}

const toSecret = (r: Row): ServiceSecretRow => ({
  serviceId: r.service_id,
  name: r.name,
  secretRef: r.secret_ref,
  createdAt: r.created_at,
  updatedAt: r.updated_at
})

export class ServiceSecretsRepo extends Effect.Service<ServiceSecretsRepo>()("denia/repos/ServiceSecretsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const list = (serviceId: string) =>
      sql`SELECT * FROM service_secrets WHERE service_id = ${serviceId} ORDER BY name`.pipe(
        all("service_secrets", Row),
        Effect.map((rows) => rows.map(toSecret))
      )

    const find = (serviceId: string, name: string) =>
      sql`SELECT * FROM service_secrets WHERE service_id = ${serviceId} AND name = ${name}`.pipe(
        first("service_secrets", Row),
        Effect.map(Option.map(toSecret))
      )

    /**
     * Points `name` at `secretRef` (insert or replace). Returns the row and the
     * ref it replaced, if any, so the caller can delete the old file.
     */
    const upsert = (serviceId: string, name: string, secretRef: string) =>
      sql
        .withTransaction(
          Effect.gen(function*() {
            const previous = yield* find(serviceId, name)
            const now = nowIso()
            yield* sql`INSERT INTO service_secrets (service_id, name, secret_ref, created_at, updated_at)
                       VALUES (${serviceId}, ${name}, ${secretRef}, ${now}, ${now})
                       ON CONFLICT (service_id, name) DO UPDATE SET secret_ref = excluded.secret_ref, updated_at = excluded.updated_at`
            const row = yield* find(serviceId, name)
            if (Option.isNone(row)) return yield* Effect.die(new Error("service secret vanished after upsert"))
            return { secret: row.value, replacedRef: Option.getOrNull(Option.map(previous, (p) => p.secretRef)) }
          })
        )
        .pipe(orDbError)

    /** Removes the row; returns it (None when it did not exist). */
    const remove = (serviceId: string, name: string) =>
      sql`DELETE FROM service_secrets WHERE service_id = ${serviceId} AND name = ${name} RETURNING *`.pipe(
        first("service_secrets", Row),
        Effect.map(Option.map(toSecret))
      )

    return { list, find, upsert, remove }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
