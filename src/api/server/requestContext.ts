/** Who made the current request and from where, for audit records and throttles. */
import { HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import type { Caller } from "../../app/Caller.js"
import { clientIp, proxyTrust } from "../../auth/clientIp.js"
import { actorOf } from "../../auth/Identity.js"
import type { DeniaConfig } from "../../config/Config.js"
import { CurrentPrincipal } from "../definition/security.js"

/** The client IP of the current request (see `clientIp`). */
export const requestIp: Effect.Effect<string, never, HttpServerRequest.HttpServerRequest | DeniaConfig> = Effect.zipWith(
  HttpServerRequest.HttpServerRequest,
  proxyTrust,
  clientIp
)

export interface AuditContext {
  readonly actor: string
  readonly clientIp: string
}

/** Actor and client IP of the current authenticated request. */
export const auditContext: Effect.Effect<AuditContext, never, CurrentPrincipal | HttpServerRequest.HttpServerRequest | DeniaConfig> = Effect
  .gen(
    function*() {
      return { actor: actorOf(yield* CurrentPrincipal), clientIp: yield* requestIp }
    }
  )

/** The caller of the current authenticated request, for the application services (`app/`). */
export const currentCaller: Effect.Effect<Caller, never, CurrentPrincipal | HttpServerRequest.HttpServerRequest | DeniaConfig> = Effect.gen(
  function*() {
    return { principal: yield* CurrentPrincipal, clientIp: yield* requestIp }
  }
)
