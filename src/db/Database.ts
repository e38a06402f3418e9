import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { DatabaseOpenFailed } from "./errors.js"
import { migrate } from "./migrate.js"
import { migrations } from "./migrations/index.js"

/** SQLite file with WAL (the client default), foreign keys and a busy timeout. */
export const sqliteLayer = (file: string) =>
  Layer.unwrapEffect(
    Effect.try({
      try: () => {
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
        return SqliteClient.layer({ filename: file })
      },
      catch: (e) => new DatabaseOpenFailed({ file, message: (e as Error).message, cause: e })
    })
  )

const pragmas = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`PRAGMA foreign_keys = ON`
  yield* sql`PRAGMA busy_timeout = 5000`
  yield* sql`PRAGMA synchronous = NORMAL`
})

/**
 * The database: `Database.layer(file)` opens it, sets pragmas and brings the
 * schema up to date. There is no tag of our own — the layer provides
 * `SqlClient.SqlClient` from @effect/sql — so this is a plain namespace object
 * that follows the naming rule (`X.layer(options)`).
 */
export const Database = {
  layer: (file: string) => Layer.effectDiscard(Effect.zipRight(pragmas, migrate(migrations))).pipe(Layer.provideMerge(sqliteLayer(file)))
} as const
