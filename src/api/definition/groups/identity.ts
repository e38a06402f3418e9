import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { ApiToken, AuditEntry, MAX_PASSWORD_LENGTH, Membership, Password, Role, User, Username } from "../../../domain/identity.js"
import { Id } from "../../../domain/ids.js"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"
import { IdPath } from "./projects.js"

const strict = { parseOptions: { onExcessProperty: "error" } } as const

const bounded = (max: number) => Schema.String.pipe(Schema.filter((s) => (s.length <= max ? true : `must be at most ${max} characters`)))
/**
 * Login: the username has the only shape any account can have (anything else is a 400 without
 * hashing work; the pattern is public, so this tells nothing); the password is any string up to
 * the longest one an account may have (a wrong one is a 401).
 */
export const Credentials = Schema.Struct({ username: Username, password: bounded(MAX_PASSWORD_LENGTH) }).annotations(strict)
export const NewUser = Schema.Struct({
  username: Username,
  password: Password,
  superAdmin: Schema.optionalWith(Schema.Boolean, { default: () => false })
}).annotations(strict)
export const BootstrapBody = Schema.Struct({ username: Username, password: Password }).annotations(strict)
/** A new password revokes the user's sessions and API tokens (`keepTokens: true` spares the tokens). */
export const UserPatch = Schema.Struct({
  password: Schema.optional(Password),
  superAdmin: Schema.optional(Schema.Boolean),
  keepTokens: Schema.optional(Schema.Boolean)
}).annotations(strict)
/**
 * Self-service password change: the current password proves it is the user, not
 * just a holder of one of their credentials. Revokes like `UserPatch`.
 */
export const PasswordChange = Schema.Struct({
  currentPassword: Schema.String,
  newPassword: Password,
  keepTokens: Schema.optional(Schema.Boolean)
}).annotations(strict)
export const Session = Schema.Struct({ token: Schema.String, expiresAt: Schema.String })
export const Me = Schema.Struct({
  user: Schema.NullOr(User),
  superAdmin: Schema.Boolean,
  memberships: Schema.Array(Membership),
  credential: Schema.Literal("adminToken", "session", "apiToken")
})
export const NewApiToken = Schema.Struct({
  name: Schema.String.pipe(
    Schema.pattern(/^[\w.@ -]{1,64}$/, { message: () => "must be 1-64 characters of letters, digits, space, '.', '@', '_' or '-'" })
  )
}).annotations(strict)
export const MintedApiToken = Schema.Struct({ id: Id, name: Schema.String, token: Schema.String, createdAt: Schema.String })
export const NewMember = Schema.Struct({ userId: Id, role: Role }).annotations(strict)
export const AuditQuery = Schema.Struct({
  limit: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500, { message: () => "limit must be between 1 and 500" }))
  ),
  cursor: Schema.optional(bounded(512))
})
export const AuditPage = Schema.Struct({ items: Schema.Array(AuditEntry), nextCursor: Schema.optional(Schema.String) })

/** Login is public (throttled in its handler); it is the only way to get a session. */
export class AuthPublicGroup extends HttpApiGroup.make("authPublic")
  .add(HttpApiEndpoint.post("login", "/auth/login").setPayload(Credentials).addSuccess(Session).annotate(Access, rules.public))
  .prefix("/v1")
{}

export class AuthGroup extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("bootstrap", "/bootstrap").setPayload(BootstrapBody).addSuccess(User, { status: 201 }).annotate(
      Access,
      rules.adminToken
    )
  )
  .add(HttpApiEndpoint.post("logout", "/auth/logout").addSuccess(HttpApiSchema.NoContent).annotate(Access, rules.authenticated))
  .add(HttpApiEndpoint.get("me", "/me").addSuccess(Me).annotate(Access, rules.authenticated))
  .add(
    HttpApiEndpoint.post("changePassword", "/me/password")
      .setPayload(PasswordChange)
      .addSuccess(HttpApiSchema.NoContent)
      .annotate(Access, rules.authenticated)
  )
  .middleware(Authorization)
  .prefix("/v1")
{}

export class ApiTokensGroup extends HttpApiGroup.make("apiTokens")
  .add(
    HttpApiEndpoint.get("list", "/api-tokens").addSuccess(Schema.Struct({ items: Schema.Array(ApiToken) })).annotate(
      Access,
      rules.authenticated
    )
  )
  .add(
    HttpApiEndpoint.post("create", "/api-tokens").setPayload(NewApiToken).addSuccess(MintedApiToken, { status: 201 }).annotate(
      Access,
      rules.authenticated
    )
  )
  .add(
    HttpApiEndpoint.del("revoke", "/api-tokens/:id").setPath(IdPath).addSuccess(HttpApiSchema.NoContent).annotate(
      Access,
      rules.authenticated
    )
  )
  .middleware(Authorization)
  .prefix("/v1")
{}

export class UsersGroup extends HttpApiGroup.make("users")
  .add(HttpApiEndpoint.get("list", "/users").addSuccess(Schema.Struct({ items: Schema.Array(User) })).annotate(Access, rules.superAdmin))
  .add(HttpApiEndpoint.post("create", "/users").setPayload(NewUser).addSuccess(User, { status: 201 }).annotate(Access, rules.superAdmin))
  .add(HttpApiEndpoint.get("get", "/users/:id").setPath(IdPath).addSuccess(User).annotate(Access, rules.superAdmin))
  .add(
    HttpApiEndpoint.patch("update", "/users/:id").setPath(IdPath).setPayload(UserPatch).addSuccess(User).annotate(Access, rules.superAdmin)
  )
  .add(HttpApiEndpoint.del("delete", "/users/:id").setPath(IdPath).addSuccess(HttpApiSchema.NoContent).annotate(Access, rules.superAdmin))
  .middleware(Authorization)
  .prefix("/v1")
{}

export const MemberPath = Schema.Struct({ id: Schema.String, userId: Schema.String })

export class MembersGroup extends HttpApiGroup.make("members")
  .add(
    HttpApiEndpoint.get("list", "/projects/:id/members")
      .setPath(IdPath)
      .addSuccess(Schema.Struct({ items: Schema.Array(Membership) }))
      .annotate(Access, rules.project("admin", "projectPath"))
  )
  .add(
    HttpApiEndpoint.post("set", "/projects/:id/members")
      .setPath(IdPath)
      .setPayload(NewMember)
      .addSuccess(Membership, { status: 201 })
      .annotate(Access, rules.project("admin", "projectPath"))
  )
  .add(
    HttpApiEndpoint.del("remove", "/projects/:id/members/:userId")
      .setPath(MemberPath)
      .addSuccess(HttpApiSchema.NoContent)
      .annotate(Access, rules.project("admin", "projectPath"))
  )
  .middleware(Authorization)
  .prefix("/v1")
{}

export class AuditGroup extends HttpApiGroup.make("audit")
  .add(HttpApiEndpoint.get("list", "/audit").setUrlParams(AuditQuery).addSuccess(AuditPage).annotate(Access, rules.superAdmin))
  .middleware(Authorization)
  .prefix("/v1")
{}
