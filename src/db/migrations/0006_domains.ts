import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Custom domains of services. `hostname` is unique across the node; a domain
 * routes (and gets a certificate) only once `status = 'verified'`. Certificate
 * state is kept here so renewal errors are visible on the domain.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE domains (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    hostname TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'verified')),
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
  yield* sql`CREATE INDEX domains_by_service ON domains (service_id)`
})
