import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { NotFound } from "../domain/errors.js"
import type { ApiToken } from "../domain/identity.js"
import { uuidv7 } from "../domain/ids.js"
import type { CredentialKind } from "../domain/principal.js"
import { all, first, nowIso, orDbError } from "./sqlHelpers.js"

const Kind = Schema.Literal("session", "apiToken") satisfies Schema.Schema<CredentialKind>

const Row = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  kind: Kind,
  name: Schema.NullOr(Schema.String),
  token_hash: Schema.String,
  created_at: Schema.String,
  expires_at: Schema.NullOr(Schema.String),
  last_used_at: Schema.NullOr(Schema.String),
  revoked_at: Schema.NullOr(Schema.String)
})
type Row = typeof Row.Type

const Revoked = Schema.Struct({ kind: Kind, n: Schema.Number })

export interface ActiveCredential {
  readonly id: string
  readonly userId: string
  readonly kind: CredentialKind
}

const toApiToken = (r: Row): ApiToken => ({ id: r.id, name: r.name ?? "", createdAt: r.created_at, lastUsedAt: r.last_used_at })

/** Sessions and API tokens, stored by SHA-256 of the token. */
export class CredentialsRepo extends Effect.Service<CredentialsRepo>()("denia/repos/CredentialsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const create = (input: { userId: string; kind: CredentialKind; name: string | null; tokenHash: string; expiresAt: string | null }) =>
      Effect.gen(function*() {
        const id = uuidv7()
        const now = nowIso()
        yield* sql`INSERT INTO credentials (id, user_id, kind, name, token_hash, created_at, expires_at)
                   VALUES (${id}, ${input.userId}, ${input.kind}, ${input.name}, ${input.tokenHash}, ${now}, ${input.expiresAt})`.pipe(
          orDbError
        )
        return { id, createdAt: now }
      })

    /** The live credential with this hash: not revoked, not expired. */
    const findActive = (hash: string, now: string = nowIso()) =>
      sql`SELECT * FROM credentials WHERE token_hash = ${hash} AND revoked_at IS NULL
          AND (expires_at IS NULL OR expires_at > ${now})`.pipe(
        first("credentials", Row),
        Effect.map(Option.map((r): ActiveCredential => ({ id: r.id, userId: r.user_id, kind: r.kind })))
      )

    const touch = (id: string) => sql`UPDATE credentials SET last_used_at = ${nowIso()} WHERE id = ${id}`.pipe(orDbError, Effect.asVoid)

    const revoke = (id: string) =>
      sql`UPDATE credentials SET revoked_at = ${nowIso()} WHERE id = ${id} AND revoked_at IS NULL`.pipe(orDbError, Effect.asVoid)

    const listApiTokens = (userId: string) =>
      sql`SELECT * FROM credentials WHERE user_id = ${userId} AND kind = 'apiToken' AND revoked_at IS NULL ORDER BY id`.pipe(
        all("credentials", Row),
        Effect.map((rows) => rows.map(toApiToken))
      )

    /** Revoke one of the user's own API tokens; someone else's token is "not found". */
    const revokeApiToken = (userId: string, id: string) =>
      Effect.gen(function*() {
        const found =
          yield* sql`SELECT * FROM credentials WHERE id = ${id} AND user_id = ${userId} AND kind = 'apiToken' AND revoked_at IS NULL`.pipe(
            first("credentials", Row)
          )
        if (Option.isNone(found)) return yield* new NotFound({ entity: "api token", id })
        yield* revoke(found.value.id)
        return toApiToken(found.value)
      })

    /**
     * Revoke every live credential of `userId` of the given kinds, except `keepId`;
     * returns how many of each kind were revoked.
     */
    const revokeAllOfUser = (userId: string, kinds: ReadonlyArray<CredentialKind>, keepId: string | undefined) =>
      Effect.gen(function*() {
        const counts = { session: 0, apiToken: 0 }
        if (kinds.length === 0) return counts
        const rows = yield* sql`UPDATE credentials SET revoked_at = ${nowIso()}
          WHERE user_id = ${userId} AND revoked_at IS NULL AND ${sql.in("kind", kinds)} AND id <> ${keepId ?? ""}
          RETURNING kind, 1 AS n`.pipe(all("credentials", Revoked))
        for (const r of rows) counts[r.kind] += r.n
        return counts
      })

    /** Drop sessions that expired more than a day ago (housekeeping). */
    const pruneExpired = sql`DELETE FROM credentials WHERE kind = 'session' AND expires_at < ${
      new Date(Date.now() - 86_400_000).toISOString()
    }`.pipe(
      orDbError,
      Effect.asVoid
    )

    return { create, findActive, touch, revoke, listApiTokens, revokeApiToken, revokeAllOfUser, pruneExpired }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
