import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Projects, services, deployments. */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    shared_env TEXT NOT NULL DEFAULT '{}',
    default_limits TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`
  yield* sql`CREATE TABLE services (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    promoted_deployment_id TEXT,
    previous_deployment_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (project_id, name)
  )`
  yield* sql`CREATE TABLE deployments (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    image_ref TEXT NOT NULL,
    image_digest TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
  )`
  yield* sql`CREATE INDEX deployments_by_service ON deployments (service_id, id)`
})
