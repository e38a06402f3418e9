import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Git sources and auto-deploy (ADR 0804): a deployment records the ref it
 * was asked for and the commit it was built from; `git_state` holds per
 * service what is not part of its spec — the pinned SSH host key, the
 * webhook secret's hash, and the auto-deploy trigger's last observation and
 * error. Rows go with their service.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE deployments ADD COLUMN commit_sha TEXT`
  yield* sql`ALTER TABLE deployments ADD COLUMN git_ref TEXT`
  yield* sql`CREATE TABLE git_state (
    service_id TEXT PRIMARY KEY REFERENCES services(id) ON DELETE CASCADE,
    known_hosts TEXT,
    host_fingerprints TEXT,
    host_pinned_at TEXT,
    webhook_secret_hash TEXT,
    webhook_rotated_at TEXT,
    last_checked_at TEXT,
    last_seen_ref TEXT,
    last_seen_commit TEXT,
    last_trigger_at TEXT,
    last_deployment_id TEXT,
    last_error TEXT,
    updated_at TEXT NOT NULL
  )`
})
