import { Context } from "effect"

/** A project role; each includes the ones below it. */
export type ProjectRole = "viewer" | "operator" | "admin"

export const ROLE_RANK: Readonly<Record<ProjectRole, number>> = { viewer: 1, operator: 2, admin: 3 }

/** How a user authenticated: a login session or a named API token. */
export type CredentialKind = "session" | "apiToken"

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
    readonly credentialKind: CredentialKind
  }

/** The principal of the request being handled (provided by the API's authorization middleware). */
export class CurrentPrincipal extends Context.Tag("denia/api/CurrentPrincipal")<CurrentPrincipal, Principal>() {}
