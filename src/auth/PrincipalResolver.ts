import { Effect, Option } from "effect"
import { DeniaConfig } from "../config/Config.js"
import type { DatabaseError } from "../db/errors.js"
import type { Principal } from "../domain/principal.js"
import { CredentialsRepo } from "../repos/CredentialsRepo.js"
import { UsersRepo } from "../repos/UsersRepo.js"
import { constantTimeEqual } from "./secrets.js"
import { looksLikeUserToken, tokenHash } from "./tokens.js"

/**
 * Turns a bearer token into a principal: the bootstrap admin token from the
 * config (super-admin), a live login session, or a live API token. Revocation
 * and expiry are checked on every request.
 */
export class PrincipalResolver extends Effect.Service<PrincipalResolver>()("denia/auth/PrincipalResolver", {
  effect: Effect.gen(function*() {
    const config = yield* DeniaConfig
    const credentials = yield* CredentialsRepo
    const users = yield* UsersRepo
    const adminToken = config.values.adminToken

    const resolve = (token: string): Effect.Effect<Option.Option<Principal>, DatabaseError> =>
      Effect.gen(function*() {
        if (token.length > 0 && constantTimeEqual(token, adminToken)) {
          return Option.some<Principal>({ kind: "adminToken", superAdmin: true })
        }
        if (!looksLikeUserToken(token)) return Option.none()
        const credential = yield* credentials.findActive(tokenHash(token))
        if (Option.isNone(credential)) return Option.none()
        const user = yield* users.find(credential.value.userId)
        if (Option.isNone(user)) return Option.none()
        if (credential.value.kind === "apiToken") yield* credentials.touch(credential.value.id)
        return Option.some<Principal>({
          kind: "user",
          userId: user.value.id,
          username: user.value.username,
          superAdmin: user.value.superAdmin,
          credentialId: credential.value.id,
          credentialKind: credential.value.kind
        })
      })

    return { resolve }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
