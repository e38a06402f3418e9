import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Project registries and service secrets. Both keep only a SecretStore
 * reference (`secret_ref`); the encrypted values live in
 * `<data_dir>/secrets/<project_id>/<ref>.sops.yaml`.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE registries (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    auth_kind TEXT NOT NULL CHECK (auth_kind IN ('anonymous', 'basic', 'token', 'ecr', 'gar')),
    auth_username TEXT,
    secret_ref TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (project_id, name)
  )`
  yield* sql`CREATE TABLE service_secrets (
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_ref TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (service_id, name)
  )`
})
