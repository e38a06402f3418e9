/**
 * Identity workflows that combine the login throttle with auth's Identity:
 * login, and a user changing their own password. Everything else of
 * identity (bootstrap, logout, tokens, users) is one call into auth/Identity.
 */
import { Context, Effect, Layer } from "effect"
import { Identity } from "../auth/Identity.js"
import { LOGIN_LIMIT, Throttle } from "../auth/Throttle.js"
import type { Caller } from "./Caller.js"

const make = Effect.gen(function*() {
  const identity = yield* Identity
  const throttle = yield* Throttle

  const spendLoginBudget = (clientIp: string) => throttle.hit("login", clientIp, LOGIN_LIMIT.limit, LOGIN_LIMIT.windowMs)

  /** Each attempt spends the per-IP login budget first. */
  const login = (username: string, password: string, clientIp: string) =>
    Effect.zipRight(spendLoginBudget(clientIp), identity.login(username, password, clientIp))

  /**
   * Every attempt spends the per-IP login budget (shared with login), so a
   * stolen session cannot be used to guess the password. The admin token has
   * no password to guess and is refused without spending it.
   */
  const changePassword = (caller: Caller, input: { currentPassword: string; newPassword: string; keepTokens?: boolean | undefined }) =>
    Effect.gen(function*() {
      if (caller.principal.kind === "user") yield* spendLoginBudget(caller.clientIp)
      yield* identity.changeOwnPassword(caller.principal, input, caller.clientIp)
    })

  return { login, changePassword }
})

export type IdentityAppApi = Effect.Effect.Success<typeof make>

export class IdentityApp extends Context.Tag("denia/app/IdentityApp")<IdentityApp, IdentityAppApi>() {
  static readonly layer = Layer.effect(IdentityApp, make)
}
