import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Restarts are events on a deployment, not new deployments: how often its
 * replicas were relaunched and why its workload last ended. `trigger` records
 * what created a deployment (api, rollback, start, restart, push, webhook;
 * NULL for rows from before this step). `services.spec_updated_at` stamps spec
 * edits only (`updated_at` also moves on promote/stop), so "pending changes"
 * can compare it with the live deployment's creation time.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE deployments ADD COLUMN trigger TEXT`
  yield* sql`ALTER TABLE deployments ADD COLUMN restart_count INTEGER NOT NULL DEFAULT 0`
  yield* sql`ALTER TABLE deployments ADD COLUMN last_exit_reason TEXT`
  yield* sql`ALTER TABLE services ADD COLUMN spec_updated_at TEXT`
})
