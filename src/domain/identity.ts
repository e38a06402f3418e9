import { Schema } from "effect"
import { Id } from "./ids.js"

export const MIN_PASSWORD_LENGTH = 12
export const MAX_PASSWORD_LENGTH = 1024

export const Username = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9._-]{1,62}$/, {
    message: () => "must be 2-63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
  })
)

export const Password = Schema.String.pipe(
  Schema.filter((p) =>
    p.length < MIN_PASSWORD_LENGTH
      ? `must be at least ${MIN_PASSWORD_LENGTH} characters`
      : p.length > MAX_PASSWORD_LENGTH
      ? `must be at most ${MAX_PASSWORD_LENGTH} characters`
      : true
  )
)

export const Role = Schema.Literal("viewer", "operator", "admin")

export const User = Schema.Struct({
  id: Id,
  username: Schema.String,
  superAdmin: Schema.Boolean,
  createdAt: Schema.String
}).annotations({ identifier: "User" })
export type User = typeof User.Type

export const Membership = Schema.Struct({
  projectId: Id,
  userId: Id,
  role: Role,
  createdAt: Schema.String
}).annotations({ identifier: "Membership" })
export type Membership = typeof Membership.Type

export const ApiToken = Schema.Struct({
  id: Id,
  name: Schema.String,
  createdAt: Schema.String,
  lastUsedAt: Schema.NullOr(Schema.String)
}).annotations({ identifier: "ApiToken" })
export type ApiToken = typeof ApiToken.Type

export const AuditEntry = Schema.Struct({
  id: Id,
  at: Schema.String,
  actor: Schema.String,
  action: Schema.String,
  target: Schema.NullOr(Schema.String),
  outcome: Schema.Literal("ok", "denied", "failed"),
  clientIp: Schema.NullOr(Schema.String),
  details: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
}).annotations({ identifier: "AuditEntry" })
export type AuditEntry = typeof AuditEntry.Type
