import { Effect, Option } from "effect"
import type { Principal } from "../api/security.js"
import { DeniaConfig } from "../config/Config.js"
import { constantTimeEqual } from "./secrets.js"

/**
 * Turns a bearer token into a principal. The bootstrap admin token from the
 * config is the super-admin; user sessions and API tokens join here.
 */
export class PrincipalResolver extends Effect.Service<PrincipalResolver>()("denia/PrincipalResolver", {
  effect: Effect.gen(function* () {
    const config = yield* DeniaConfig
    const adminToken = config.values.adminToken

    const resolve = (token: string): Effect.Effect<Option.Option<Principal>> =>
      Effect.sync(() =>
        token.length > 0 && constantTimeEqual(token, adminToken)
          ? Option.some<Principal>({ kind: "adminToken", superAdmin: true })
          : Option.none()
      )

    return { resolve }
  })
}) {}
