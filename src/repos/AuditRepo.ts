import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { AuditEntry } from "../domain/identity.js"
import { uuidv7 } from "../domain/ids.js"
import { all, nowIso, NullableJson, orDbError } from "./sqlHelpers.js"

const Row = Schema.Struct({
  id: Schema.String,
  at: Schema.String,
  actor: Schema.String,
  action: Schema.String,
  target: Schema.NullOr(Schema.String),
  outcome: AuditEntry.fields.outcome,
  client_ip: Schema.NullOr(Schema.String),
  details: NullableJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
type Row = typeof Row.Type

const toEntry = (r: Row): AuditEntry => ({
  id: r.id,
  at: r.at,
  actor: r.actor,
  action: r.action,
  target: r.target,
  outcome: r.outcome,
  clientIp: r.client_ip,
  details: r.details
})

export interface AuditRecord {
  readonly actor: string
  readonly action: string
  readonly target?: string | undefined
  readonly outcome: AuditEntry["outcome"]
  readonly clientIp?: string | undefined
  /** Metadata only: never secrets, tokens or passwords. */
  readonly details?: Record<string, string | number | boolean | null> | undefined
}

export class AuditRepo extends Effect.Service<AuditRepo>()("denia/repos/AuditRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const record = (r: AuditRecord) =>
      sql`INSERT INTO audit_log (id, at, actor, action, target, outcome, client_ip, details)
          VALUES (${uuidv7()}, ${nowIso()}, ${r.actor}, ${r.action}, ${r.target ?? null}, ${r.outcome}, ${r.clientIp ?? null},
                  ${r.details === undefined ? null : JSON.stringify(r.details)})`.pipe(orDbError, Effect.asVoid)

    /** Newest first; `before` is the cursor (an entry id). */
    const page = (limit: number, before: string | undefined) =>
      (before === undefined
        ? sql`SELECT * FROM audit_log ORDER BY id DESC LIMIT ${limit + 1}`
        : sql`SELECT * FROM audit_log WHERE id < ${before} ORDER BY id DESC LIMIT ${limit + 1}`).pipe(
          all("audit_log", Row),
          Effect.map((rows) => {
            const items = rows.slice(0, limit).map(toEntry)
            return rows.length > limit ? { items, nextCursor: items.at(-1)?.id } : { items }
          })
        )

    return { record, page }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
