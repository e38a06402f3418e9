/**
 * Per-service Git state that is not part of the spec (migration 0011): the
 * pinned SSH host key, the webhook secret's hash, and what auto-deploy last
 * saw. One row per Git-source service, created on first write, removed with
 * the service.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import type { GitStatus } from "../domain/gitStatus.js"
import { first, nowIso, orDbError } from "./sqlHelpers.js"

const Row = Schema.Struct({
  service_id: Schema.String,
  known_hosts: Schema.NullOr(Schema.String),
  host_fingerprints: Schema.NullOr(Schema.parseJson(Schema.Array(Schema.String))),
  host_pinned_at: Schema.NullOr(Schema.String),
  webhook_secret_hash: Schema.NullOr(Schema.String),
  webhook_rotated_at: Schema.NullOr(Schema.String),
  last_checked_at: Schema.NullOr(Schema.String),
  last_seen_ref: Schema.NullOr(Schema.String),
  last_seen_commit: Schema.NullOr(Schema.String),
  last_trigger_at: Schema.NullOr(Schema.String),
  last_deployment_id: Schema.NullOr(Schema.String),
  last_error: Schema.NullOr(Schema.String),
  updated_at: Schema.String
})
type Row = typeof Row.Type

export interface GitStateRow {
  readonly knownHosts: string | undefined
  readonly webhookSecretHash: string | undefined
  readonly lastSeenCommit: string | undefined
  readonly status: GitStatus
}

const opt = <K extends string>(key: K, value: string | null) => (value === null ? {} : { [key]: value } as Record<K, string>)

const toState = (r: Row): GitStateRow => ({
  knownHosts: r.known_hosts ?? undefined,
  webhookSecretHash: r.webhook_secret_hash ?? undefined,
  lastSeenCommit: r.last_seen_commit ?? undefined,
  status: {
    hostKey: r.known_hosts === null ? null : { fingerprints: r.host_fingerprints ?? [], pinnedAt: r.host_pinned_at ?? r.updated_at },
    webhook: { configured: r.webhook_secret_hash !== null, ...opt("rotatedAt", r.webhook_rotated_at) },
    autoDeploy: {
      state: r.last_error !== null ? "error" : r.last_checked_at !== null || r.last_trigger_at !== null ? "ok" : "idle",
      ...opt("lastCheckedAt", r.last_checked_at),
      ...opt("lastSeenRef", r.last_seen_ref),
      ...opt("lastSeenCommit", r.last_seen_commit),
      ...opt("lastTriggerAt", r.last_trigger_at),
      ...opt("lastDeploymentId", r.last_deployment_id),
      ...opt("lastError", r.last_error)
    }
  }
})

export const EMPTY_GIT_STATUS: GitStatus = { hostKey: null, webhook: { configured: false }, autoDeploy: { state: "idle" } }

export interface TriggerRecord {
  readonly ref?: string | undefined
  readonly commit?: string | undefined
  /** The deployment this observation started (a trigger), if any. */
  readonly deploymentId?: string | undefined
  /** null clears the error. */
  readonly error: string | null
}

export class GitStateRepo extends Effect.Service<GitStateRepo>()("denia/repos/GitStateRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const find = (serviceId: string) =>
      sql`SELECT * FROM git_state WHERE service_id = ${serviceId}`.pipe(first("git_state", Row), Effect.map(Option.map(toState)))

    const ensure = (serviceId: string) =>
      sql`INSERT INTO git_state (service_id, updated_at) VALUES (${serviceId}, ${nowIso()}) ON CONFLICT (service_id) DO NOTHING`

    const pinHostKey = (serviceId: string, knownHosts: string, fingerprints: ReadonlyArray<string>) =>
      sql.withTransaction(Effect.gen(function*() {
        yield* ensure(serviceId)
        const now = nowIso()
        yield* sql`UPDATE git_state SET known_hosts = ${knownHosts}, host_fingerprints = ${JSON.stringify(fingerprints)},
                     host_pinned_at = ${now}, updated_at = ${now} WHERE service_id = ${serviceId}`
      })).pipe(orDbError)

    const clearHostKey = (serviceId: string) =>
      sql`UPDATE git_state SET known_hosts = NULL, host_fingerprints = NULL, host_pinned_at = NULL, updated_at = ${nowIso()}
          WHERE service_id = ${serviceId}`.pipe(orDbError, Effect.asVoid)

    const setWebhookSecretHash = (serviceId: string, hash: string) =>
      sql.withTransaction(Effect.gen(function*() {
        yield* ensure(serviceId)
        const now = nowIso()
        yield* sql`UPDATE git_state SET webhook_secret_hash = ${hash}, webhook_rotated_at = ${now}, updated_at = ${now}
                   WHERE service_id = ${serviceId}`
      })).pipe(orDbError)

    /** A check (poll or hook): what was seen, the deployment it started, and the error (or none). */
    const recordCheck = (serviceId: string, record: TriggerRecord) =>
      sql.withTransaction(Effect.gen(function*() {
        yield* ensure(serviceId)
        const now = nowIso()
        yield* sql`UPDATE git_state SET last_checked_at = ${now},
                     last_seen_ref = COALESCE(${record.ref ?? null}, last_seen_ref),
                     last_seen_commit = COALESCE(${record.commit ?? null}, last_seen_commit),
                     last_trigger_at = CASE WHEN ${record.deploymentId ?? null} IS NULL THEN last_trigger_at ELSE ${now} END,
                     last_deployment_id = COALESCE(${record.deploymentId ?? null}, last_deployment_id),
                     last_error = ${record.error}, updated_at = ${now}
                   WHERE service_id = ${serviceId}`
      })).pipe(orDbError)

    return { find, pinHostKey, clearHostKey, setWebhookSecretHash, recordCheck }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
