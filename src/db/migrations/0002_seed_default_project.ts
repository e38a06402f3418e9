import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { uuidv7 } from "../../domain/ids.js"

/** A fresh install has a `default` project. */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const now = new Date().toISOString()
  yield* sql`INSERT INTO projects (id, name, shared_env, default_limits, created_at, updated_at)
             VALUES (${uuidv7()}, 'default', '{}', NULL, ${now}, ${now})`
})
