/**
 * Users, sessions and API tokens: bootstrap, login/logout, token minting and
 * revocation, user administration. Every security-relevant step is audited
 * (metadata only).
 */
import { Effect, Option } from "effect"
import { DeniaConfig } from "../config/Config.js"
import { Conflict, Invalid, NotFound } from "../domain/errors.js"
import type { User } from "../domain/identity.js"
import type { Principal } from "../domain/principal.js"
import { AuditRepo } from "../repos/AuditRepo.js"
import { CredentialsRepo } from "../repos/CredentialsRepo.js"
import { MembershipsRepo } from "../repos/MembershipsRepo.js"
import { UsersRepo } from "../repos/UsersRepo.js"
import { InvalidCredentials } from "./errors.js"
import { dummyHash, hashPassword, verifyPassword } from "./passwords.js"
import { mintToken, tokenHash } from "./tokens.js"

export const actorOf = (p: Principal): string => (p.kind === "adminToken" ? "admin-token" : `user:${p.username}`)

export class Identity extends Effect.Service<Identity>()("denia/auth/Identity", {
  effect: Effect.gen(function*() {
    const config = yield* DeniaConfig
    const users = yield* UsersRepo
    const credentials = yield* CredentialsRepo
    const memberships = yield* MembershipsRepo
    const audit = yield* AuditRepo
    const sessionTtlMs = config.values.sessionTtlHours * 3_600_000

    const bootstrap = (username: string, password: string, clientIp: string) =>
      Effect.gen(function*() {
        const passwordHash = yield* hashPassword(password)
        const created = yield* users.createFirst({ username, passwordHash })
        if (Option.isNone(created)) {
          yield* audit.record({ actor: "admin-token", action: "bootstrap", outcome: "denied", clientIp })
          return yield* new Conflict({ message: "bootstrap already done: a user exists" })
        }
        yield* audit.record({ actor: "admin-token", action: "bootstrap", target: `user:${username}`, outcome: "ok", clientIp })
        return created.value
      })

    const login = (username: string, password: string, clientIp: string) =>
      Effect.gen(function*() {
        const found = yield* users.findWithHashByName(username)
        // Same work whether or not the user exists.
        const ok = yield* verifyPassword(password, Option.isSome(found) ? found.value.passwordHash : yield* dummyHash)
        if (Option.isNone(found) || !ok) {
          yield* audit.record({ actor: `user:${username.slice(0, 64)}`, action: "login", outcome: "failed", clientIp })
          return yield* new InvalidCredentials({ message: "wrong username or password" })
        }
        const token = mintToken("session")
        const expiresAt = new Date(Date.now() + sessionTtlMs).toISOString()
        yield* credentials.create({ userId: found.value.user.id, kind: "session", name: null, tokenHash: tokenHash(token), expiresAt })
        yield* audit.record({ actor: `user:${found.value.user.username}`, action: "login", outcome: "ok", clientIp })
        return { token, expiresAt }
      })

    const logout = (principal: Principal, clientIp: string) =>
      Effect.gen(function*() {
        if (principal.kind !== "user" || principal.credentialKind !== "session") {
          return yield* new Invalid({
            field: "authorization",
            message: "logout needs a session token; revoke API tokens with DELETE /v1/api-tokens/{id}"
          })
        }
        yield* credentials.revoke(principal.credentialId)
        yield* audit.record({ actor: actorOf(principal), action: "logout", outcome: "ok", clientIp })
      })

    const me = (principal: Principal) =>
      Effect.gen(function*() {
        if (principal.kind === "adminToken") return { user: null, superAdmin: true, memberships: [], credential: "adminToken" as const }
        const user = yield* users.get(principal.userId).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
        return { user, superAdmin: user.superAdmin, memberships: yield* memberships.forUser(user.id), credential: principal.credentialKind }
      })

    const requireUser = (principal: Principal) =>
      principal.kind === "user"
        ? Effect.succeed(principal)
        : Effect.fail(new Invalid({ field: "authorization", message: "the bootstrap admin token has no API tokens; log in as a user" }))

    const listTokens = (principal: Principal) =>
      principal.kind === "user" ? credentials.listApiTokens(principal.userId) : Effect.succeed([])

    const mintApiToken = (principal: Principal, name: string, clientIp: string) =>
      Effect.gen(function*() {
        const user = yield* requireUser(principal)
        const token = mintToken("apiToken")
        const { id, createdAt } = yield* credentials.create({
          userId: user.userId,
          kind: "apiToken",
          name,
          tokenHash: tokenHash(token),
          expiresAt: null
        })
        yield* audit.record({
          actor: actorOf(principal),
          action: "token.mint",
          target: `token:${id}`,
          outcome: "ok",
          clientIp,
          details: { name }
        })
        return { id, name, token, createdAt }
      })

    const revokeApiToken = (principal: Principal, id: string, clientIp: string) =>
      Effect.gen(function*() {
        const user = yield* requireUser(principal)
        const revoked = yield* credentials.revokeApiToken(user.userId, id)
        yield* audit.record({
          actor: actorOf(principal),
          action: "token.revoke",
          target: `token:${id}`,
          outcome: "ok",
          clientIp,
          details: { name: revoked.name }
        })
      })

    const createUser = (principal: Principal, input: { username: string; password: string; superAdmin: boolean }, clientIp: string) =>
      Effect.gen(function*() {
        const user = yield* users.create({
          username: input.username,
          passwordHash: yield* hashPassword(input.password),
          superAdmin: input.superAdmin
        })
        yield* audit.record({
          actor: actorOf(principal),
          action: "user.create",
          target: `user:${user.username}`,
          outcome: "ok",
          clientIp,
          details: { superAdmin: user.superAdmin }
        })
        return user
      })

    /**
     * After a password change: revoke the user's sessions and (unless `keepTokens`)
     * API tokens, sparing the credential making the request when it is the user's
     * own. `self` marks the self-service route, which verified the current password.
     */
    const revokeAfterPasswordChange = (principal: Principal, user: User, keepTokens: boolean, self: boolean, clientIp: string) =>
      Effect.gen(function*() {
        const keepId = principal.kind === "user" && principal.userId === user.id ? principal.credentialId : undefined
        const revoked = yield* credentials.revokeAllOfUser(user.id, keepTokens ? ["session"] : ["session", "apiToken"], keepId)
        yield* audit.record({
          actor: actorOf(principal),
          action: "user.password_changed",
          target: `user:${user.username}`,
          outcome: "ok",
          clientIp,
          details: {
            self,
            revokedSessions: revoked.session,
            revokedTokens: revoked.apiToken,
            keptTokens: keepTokens,
            keptCurrentCredential: keepId !== undefined
          }
        })
      })

    /**
     * A password change revokes the user's sessions and (unless `keepTokens`) API
     * tokens; the credential making the request survives when it is the user's own
     * (changing your own password does not log you out). See ADR 0010.
     */
    const updateUser = (
      principal: Principal,
      id: string,
      patch: { password?: string | undefined; superAdmin?: boolean | undefined; keepTokens?: boolean | undefined },
      clientIp: string
    ) =>
      Effect.gen(function*() {
        if (patch.keepTokens !== undefined && patch.password === undefined) {
          return yield* new Invalid({ field: "keepTokens", message: "only applies together with password" })
        }
        const passwordHash = patch.password === undefined ? undefined : yield* hashPassword(patch.password)
        const user = yield* users.update(id, { passwordHash, superAdmin: patch.superAdmin })
        yield* audit.record({
          actor: actorOf(principal),
          action: "user.update",
          target: `user:${user.username}`,
          outcome: "ok",
          clientIp,
          details: {
            passwordChanged: patch.password !== undefined,
            ...(patch.superAdmin === undefined ? {} : { superAdmin: patch.superAdmin })
          }
        })
        if (passwordHash !== undefined) yield* revokeAfterPasswordChange(principal, user, patch.keepTokens === true, false, clientIp)
        return user
      })

    /**
     * `POST /v1/me/password`: users change their own password by proving the
     * current one (constant-time scrypt check; the caller applies the login
     * throttle first). Same revocation as `updateUser`; the requesting credential
     * stays. The admin token has no password and gets a 400 naming `authorization`.
     */
    const changeOwnPassword = (
      principal: Principal,
      input: { currentPassword: string; newPassword: string; keepTokens?: boolean | undefined },
      clientIp: string
    ) =>
      Effect.gen(function*() {
        if (principal.kind !== "user") {
          return yield* new Invalid({
            field: "authorization",
            message: "the bootstrap admin token has no password; log in as a user (super-admins use PATCH /v1/users/{id})"
          })
        }
        const found = yield* users.findWithHash(principal.userId)
        // The principal was resolved from the database for this request; a user deleted since is simply gone.
        if (Option.isNone(found)) return yield* new NotFound({ entity: "user", id: principal.userId })
        if (!(yield* verifyPassword(input.currentPassword, found.value.passwordHash))) {
          yield* audit.record({
            actor: actorOf(principal),
            action: "user.password_changed",
            target: `user:${principal.username}`,
            outcome: "failed",
            clientIp,
            details: { self: true, reason: "wrong current password" }
          })
          return yield* new Invalid({ field: "currentPassword", message: "does not match your current password" })
        }
        const user = yield* users.update(principal.userId, { passwordHash: yield* hashPassword(input.newPassword) })
        yield* revokeAfterPasswordChange(principal, user, input.keepTokens === true, true, clientIp)
      })

    const deleteUser = (principal: Principal, id: string, clientIp: string) =>
      Effect.gen(function*() {
        if (principal.kind === "user" && principal.userId === id) {
          return yield* new Conflict({ message: "you cannot delete yourself" })
        }
        const user = yield* users.get(id)
        yield* users.remove(id)
        yield* audit.record({ actor: actorOf(principal), action: "user.delete", target: `user:${user.username}`, outcome: "ok", clientIp })
      })

    return { bootstrap, login, logout, me, listTokens, mintApiToken, revokeApiToken, createUser, updateUser, changeOwnPassword, deleteUser }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
