import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Domain claims (ADR 0010): a hostname is unique only among *verified*
 * domains; several services may hold a pending claim on it. The first to
 * verify wins, the other claims become `released`; pending claims past
 * `domain_claim_ttl_hours` become `expired`. `status_reason` says why.
 * SQLite cannot drop a UNIQUE constraint in place, so the table is rebuilt.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE domains_next (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    hostname TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'verified', 'released', 'expired')),
    status_reason TEXT,
    token TEXT NOT NULL,
    proof TEXT NOT NULL,
    verified_at TEXT,
    last_error TEXT,
    cert_status TEXT NOT NULL DEFAULT 'none' CHECK (cert_status IN ('none', 'pending', 'issued', 'failed')),
    cert_expires_at TEXT,
    cert_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`
  yield* sql`INSERT INTO domains_next (id, service_id, hostname, status, token, proof, verified_at, last_error, cert_status, cert_expires_at, cert_error, created_at, updated_at)
             SELECT id, service_id, hostname, status, token, proof, verified_at, last_error, cert_status, cert_expires_at, cert_error, created_at, updated_at FROM domains`
  yield* sql`DROP TABLE domains`
  yield* sql`ALTER TABLE domains_next RENAME TO domains`
  yield* sql`CREATE INDEX domains_by_service ON domains (service_id)`
  yield* sql`CREATE INDEX domains_by_hostname ON domains (hostname)`
  // one verified owner per hostname; one open claim per service and hostname
  yield* sql`CREATE UNIQUE INDEX domains_verified_hostname ON domains (hostname) WHERE status = 'verified'`
  yield* sql`CREATE UNIQUE INDEX domains_pending_claim ON domains (hostname, service_id) WHERE status = 'pending'`
})
