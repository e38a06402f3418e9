import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import { NotFound } from "../domain/errors.js"
import { uuidv7 } from "../domain/ids.js"
import { nowIso, uniqueAsConflict } from "./sqlHelpers.js"

interface Row {
  id: string
  service_id: string
  hostname: string
  status: "pending" | "verified"
  token: string
  proof: string
  verified_at: string | null
  last_error: string | null
  cert_status: "none" | "pending" | "issued" | "failed"
  cert_expires_at: string | null
  cert_error: string | null
  created_at: string
  updated_at: string
}

export interface DomainRecord {
  readonly id: string
  readonly serviceId: string
  readonly hostname: string
  readonly status: "pending" | "verified"
  readonly token: string
  readonly proof: string
  readonly verifiedAt: string | null
  readonly lastError: string | null
  readonly certStatus: "none" | "pending" | "issued" | "failed"
  readonly certExpiresAt: string | null
  readonly certError: string | null
  readonly createdAt: string
  readonly updatedAt: string
}

const toRecord = (r: Row): DomainRecord => ({
  id: r.id,
  serviceId: r.service_id,
  hostname: r.hostname,
  status: r.status,
  token: r.token,
  proof: r.proof,
  verifiedAt: r.verified_at,
  lastError: r.last_error,
  certStatus: r.cert_status,
  certExpiresAt: r.cert_expires_at,
  certError: r.cert_error,
  createdAt: r.created_at,
  updatedAt: r.updated_at
})

export class DomainsRepo extends Effect.Service<DomainsRepo>()("denia/DomainsRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const find = (id: string) =>
      sql<Row>`SELECT * FROM domains WHERE id = ${id}`.pipe(Effect.orDie, Effect.map((rows) => Option.fromNullable(rows[0]).pipe(Option.map(toRecord))))

    /** The domain `id` of service `serviceId`; NotFound otherwise. */
    const get = (serviceId: string, id: string) =>
      find(id).pipe(
        Effect.flatMap((o) =>
          Option.isSome(o) && o.value.serviceId === serviceId ? Effect.succeed(o.value) : Effect.fail(new NotFound({ entity: "domain", id }))
        )
      )

    const listByService = (serviceId: string) =>
      sql<Row>`SELECT * FROM domains WHERE service_id = ${serviceId} ORDER BY hostname`.pipe(Effect.orDie, Effect.map((rows) => rows.map(toRecord)))

    const listAll = sql<Row>`SELECT * FROM domains ORDER BY hostname`.pipe(Effect.orDie, Effect.map((rows) => rows.map(toRecord)))

    const create = (input: { serviceId: string; hostname: string; token: string; proof: string }) =>
      Effect.gen(function* () {
        const id = uuidv7()
        const now = nowIso()
        yield* sql`INSERT INTO domains (id, service_id, hostname, status, token, proof, created_at, updated_at)
                   VALUES (${id}, ${input.serviceId}, ${input.hostname}, 'pending', ${input.token}, ${input.proof}, ${now}, ${now})`.pipe(
          uniqueAsConflict(`hostname: ${input.hostname} is already attached to a service`)
        )
        return yield* get(input.serviceId, id).pipe(Effect.orDie)
      })

    const markVerified = (id: string) =>
      sql`UPDATE domains SET status = 'verified', verified_at = ${nowIso()}, last_error = NULL, updated_at = ${nowIso()} WHERE id = ${id}`.pipe(
        Effect.orDie,
        Effect.asVoid
      )

    const setError = (id: string, error: string | null) =>
      sql`UPDATE domains SET last_error = ${error}, updated_at = ${nowIso()} WHERE id = ${id}`.pipe(Effect.orDie, Effect.asVoid)

    const setCertificate = (hostname: string, state: { status: Row["cert_status"]; expiresAt: string | null; error: string | null }) =>
      sql`UPDATE domains SET cert_status = ${state.status}, cert_expires_at = ${state.expiresAt}, cert_error = ${state.error}, updated_at = ${nowIso()}
          WHERE hostname = ${hostname}`.pipe(Effect.orDie, Effect.asVoid)

    const remove = (serviceId: string, id: string) =>
      Effect.gen(function* () {
        yield* get(serviceId, id)
        yield* sql`DELETE FROM domains WHERE id = ${id}`.pipe(Effect.orDie)
      })

    return { find, get, listByService, listAll, create, markVerified, setError, setCertificate, remove }
  })
}) {}
