/**
 * Who may call an endpoint, declared next to the endpoint in the API
 * definition (`.annotate(Access, rule)`), enforced by one middleware
 * (`src/auth/authorization.ts`). An endpoint without a rule is a bug that the
 * role-matrix test catches.
 */
import { Context } from "effect"
import type { ProjectRole } from "../../domain/principal.js"

export { type ProjectRole, ROLE_RANK } from "../../domain/principal.js"

/** Where the middleware finds the project an endpoint acts on. */
export type ProjectScope =
  /** `:id` path parameter is a project id. */
  | "projectPath"
  /** `:id` path parameter is a service id. */
  | "servicePath"
  /** `:id` path parameter is a deployment id. */
  | "deploymentPath"
  /**
   * The project comes from the body or query (create/list); the middleware only
   * authenticates and the handler calls `Authz.requireProjectRole` / filters.
   */
  | "handler"

export type AccessRule =
  | { readonly kind: "public" }
  /** Any authenticated principal (e.g. `/v1/me`, own tokens). */
  | { readonly kind: "authenticated" }
  /** The bootstrap admin token only. */
  | { readonly kind: "adminToken" }
  | { readonly kind: "superAdmin" }
  | { readonly kind: "project"; readonly role: ProjectRole; readonly scope: ProjectScope }

export class Access extends Context.Tag("denia/api/Access")<Access, AccessRule>() {}

export const rules = {
  public: { kind: "public" },
  authenticated: { kind: "authenticated" },
  adminToken: { kind: "adminToken" },
  superAdmin: { kind: "superAdmin" },
  project: (role: ProjectRole, scope: ProjectScope): AccessRule => ({ kind: "project", role, scope })
} as const satisfies Record<string, AccessRule | ((role: ProjectRole, scope: ProjectScope) => AccessRule)>
