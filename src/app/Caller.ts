/**
 * Who asks an application service to do something: the principal decides
 * what is allowed, the client IP goes into the audit record. The HTTP API
 * builds one per request (api/server/requestContext.ts); a CLI, webhook or
 * scheduler builds its own.
 */
import { actorOf } from "../auth/Identity.js"
import type { Principal } from "../domain/principal.js"
import type { ChangeContext } from "../secrets/registries.js"

export interface Caller {
  readonly principal: Principal
  readonly clientIp: string
}

/** Actor and client IP as audit records store them. */
export const changeContextOf = (caller: Caller): ChangeContext => ({ actor: actorOf(caller.principal), clientIp: caller.clientIp })
