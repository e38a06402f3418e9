import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { CertificateState, DomainStatus } from "../domain/domain.js"
import { Conflict, NotFound } from "../domain/errors.js"
import { uuidv7 } from "../domain/ids.js"
import { all, dbFailureAsError, decodeFirst, first, nowIso, orDbError, uniqueAsConflict } from "./sqlHelpers.js"

const Row = Schema.Struct({
  id: Schema.String,
  service_id: Schema.String,
  hostname: Schema.String,
  status: DomainStatus,
  status_reason: Schema.NullOr(Schema.String),
  token: Schema.String,
  proof: Schema.String,
  verified_at: Schema.NullOr(Schema.String),
  last_error: Schema.NullOr(Schema.String),
  cert_status: CertificateState.fields.status,
  cert_expires_at: Schema.NullOr(Schema.String),
  cert_error: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  updated_at: Schema.String
})
type Row = typeof Row.Type

/** Whether the verified claim on the hostname belongs to the same project (SQLite booleans are 0/1; NULL when a service is gone). */
const Winner = Schema.Struct({ same_project: Schema.NullOr(Schema.Number) })

export interface DomainRecord {
  readonly id: string
  readonly serviceId: string
  readonly hostname: string
  readonly status: DomainStatus
  readonly statusReason: string | null
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
  statusReason: r.status_reason,
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

/** `statusReason` of claims released because another claim on the hostname was verified first. */
export const OTHER_PROJECT = "verified by another project"
export const SAME_PROJECT = "verified by another service of this project"

export class DomainsRepo extends Effect.Service<DomainsRepo>()("denia/repos/DomainsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const find = (id: string) => sql`SELECT * FROM domains WHERE id = ${id}`.pipe(first("domains", Row), Effect.map(Option.map(toRecord)))

    /** The domain `id` of service `serviceId`; NotFound otherwise. */
    const get = (serviceId: string, id: string) =>
      find(id).pipe(
        Effect.flatMap((o) =>
          Option.isSome(o) && o.value.serviceId === serviceId
            ? Effect.succeed(o.value)
            : Effect.fail(new NotFound({ entity: "domain", id }))
        )
      )

    const listByService = (serviceId: string) =>
      sql`SELECT * FROM domains WHERE service_id = ${serviceId} ORDER BY hostname`.pipe(
        all("domains", Row),
        Effect.map((rows) => rows.map(toRecord))
      )

    /** Open claims and verified domains (what the route table and challenges are built from). */
    const listAll = sql`SELECT * FROM domains WHERE status IN ('pending', 'verified') ORDER BY hostname`.pipe(
      all("domains", Row),
      Effect.map((rows) => rows.map(toRecord))
    )

    /**
     * A new pending claim. Refused (409) when the hostname is verified anywhere or
     * this service already holds an open claim on it; other services' pending
     * claims do not block. This service's old released/expired claims on the
     * hostname are replaced.
     */
    const create = (input: { serviceId: string; hostname: string; token: string; proof: string }) =>
      Effect.gen(function*() {
        const id = uuidv7()
        const now = nowIso()
        yield* sql
          .withTransaction(
            Effect.gen(function*() {
              const taken = yield* sql`SELECT service_id FROM domains WHERE hostname = ${input.hostname} AND status = 'verified'`
              if (taken.length > 0) return yield* new Conflict({ message: `hostname: ${input.hostname} is already attached to a service` })
              yield* sql`DELETE FROM domains WHERE hostname = ${input.hostname} AND service_id = ${input.serviceId} AND status IN ('released', 'expired')`
              yield* sql`INSERT INTO domains (id, service_id, hostname, status, token, proof, created_at, updated_at)
                         VALUES (${id}, ${input.serviceId}, ${input.hostname}, 'pending', ${input.token}, ${input.proof}, ${now}, ${now})`
                .pipe(
                  uniqueAsConflict(`hostname: ${input.hostname} is already claimed by this service`)
                )
            })
          )
          .pipe(dbFailureAsError)
        return yield* get(input.serviceId, id).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
      })

    /**
     * The claim `id` wins its hostname: verified, and every other pending claim
     * on the hostname is released with a reason. 409 (and this claim released)
     * when another claim was verified first.
     */
    const markVerified = (id: string) =>
      sql
        .withTransaction(
          Effect.gen(function*() {
            const found = yield* sql`SELECT * FROM domains WHERE id = ${id}`.pipe(Effect.flatMap(decodeFirst("domains", Row)))
            if (Option.isNone(found)) return yield* new NotFound({ entity: "domain", id })
            const claim = found.value
            const now = nowIso()
            const winner = yield* sql`SELECT
                (SELECT project_id FROM services WHERE id = d.service_id) = (SELECT project_id FROM services WHERE id = ${claim.service_id}) AS same_project
              FROM domains d WHERE d.hostname = ${claim.hostname} AND d.status = 'verified' AND d.id <> ${id}`.pipe(
              Effect.flatMap(decodeFirst("domains", Winner))
            )
            if (Option.isSome(winner)) {
              const reason = winner.value.same_project === 1 ? SAME_PROJECT : OTHER_PROJECT
              yield* sql`UPDATE domains SET status = 'released', status_reason = ${reason}, updated_at = ${now}
                         WHERE id = ${id} AND status = 'pending'`
              // committed: the loss is recorded before the caller hears about it
              return Option.some(claim.hostname)
            }
            yield* sql`UPDATE domains SET status = 'verified', status_reason = NULL, verified_at = ${now}, last_error = NULL, updated_at = ${now} WHERE id = ${id}`
            yield* sql`UPDATE domains SET status = 'released', updated_at = ${now},
                         status_reason = CASE
                           WHEN (SELECT project_id FROM services WHERE id = domains.service_id) = (SELECT project_id FROM services WHERE id = ${claim.service_id})
                           THEN ${SAME_PROJECT} ELSE ${OTHER_PROJECT} END
                       WHERE hostname = ${claim.hostname} AND status = 'pending' AND id <> ${id}`
            return Option.none<string>()
          })
        )
        .pipe(
          dbFailureAsError,
          Effect.flatMap(
            Option.match({
              onNone: () => Effect.void,
              onSome: (hostname) => Effect.fail(new Conflict({ message: `hostname: ${hostname} was verified by another project` }))
            })
          )
        )

    /** Pending claims created before `cutoff` become `expired`; returns how many. */
    const expirePending = (cutoff: string, reason: string) =>
      sql`UPDATE domains SET status = 'expired', status_reason = ${reason}, updated_at = ${nowIso()}
                          WHERE status = 'pending' AND created_at < ${cutoff} RETURNING id`.pipe(
        orDbError,
        Effect.map((rows) => rows.length)
      )

    const setError = (id: string, error: string | null) =>
      sql`UPDATE domains SET last_error = ${error}, updated_at = ${nowIso()} WHERE id = ${id}`.pipe(orDbError, Effect.asVoid)

    const setCertificate = (hostname: string, state: { status: Row["cert_status"]; expiresAt: string | null; error: string | null }) =>
      sql`UPDATE domains SET cert_status = ${state.status}, cert_expires_at = ${state.expiresAt}, cert_error = ${state.error}, updated_at = ${nowIso()}
          WHERE hostname = ${hostname} AND status = 'verified'`.pipe(orDbError, Effect.asVoid)

    const remove = (serviceId: string, id: string) =>
      Effect.gen(function*() {
        yield* get(serviceId, id)
        yield* sql`DELETE FROM domains WHERE id = ${id}`.pipe(orDbError)
      })

    return { find, get, listByService, listAll, create, markVerified, expirePending, setError, setCertificate, remove }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
