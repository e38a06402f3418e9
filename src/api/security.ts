import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Context, Schema } from "effect"
import { ForbiddenResponse, NotFoundResponse, TooManyRequestsResponse, UnauthorizedResponse } from "./errors.js"

/** The caller of a request, resolved from its bearer token. */
export type Principal =
  | { readonly kind: "adminToken"; readonly superAdmin: true }
  | {
      readonly kind: "user"
      readonly userId: string
      readonly username: string
      readonly superAdmin: boolean
      /** Session or API token that authenticated this request. */
      readonly credentialId: string
      readonly credentialKind: "session" | "apiToken"
    }

export class CurrentPrincipal extends Context.Tag("denia/api/CurrentPrincipal")<CurrentPrincipal, Principal>() {}

/** Bearer authentication + the endpoint's access rule. */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("denia/api/Authorization", {
  failure: Schema.Union(UnauthorizedResponse, ForbiddenResponse, NotFoundResponse, TooManyRequestsResponse),
  provides: CurrentPrincipal,
  security: { bearer: HttpApiSecurity.bearer }
}) {}
