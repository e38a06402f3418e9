import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Schema } from "effect"
import { CurrentPrincipal } from "../../domain/principal.js"
export { CurrentPrincipal, type Principal } from "../../domain/principal.js"
import { ForbiddenResponse, NotFoundResponse, TooManyRequestsResponse, UnauthorizedResponse } from "./errors.js"

/** Bearer authentication + the endpoint's access rule. */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("denia/api/Authorization", {
  failure: Schema.Union(UnauthorizedResponse, ForbiddenResponse, NotFoundResponse, TooManyRequestsResponse),
  provides: CurrentPrincipal,
  security: { bearer: HttpApiSecurity.bearer }
}) {}
