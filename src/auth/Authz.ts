import { Effect } from "effect"
import type { DatabaseError } from "../db/errors.js"
import { type ProjectRole, ROLE_RANK } from "../domain/principal.js"
import type { Principal } from "../domain/principal.js"
import { MembershipsRepo } from "../repos/MembershipsRepo.js"
import { RoleRequired } from "./errors.js"

/**
 * Project-level authorization decisions: super-admins pass everything; other
 * users need a membership whose role ranks at least the required one.
 */
export class Authz extends Effect.Service<Authz>()("denia/auth/Authz", {
  effect: Effect.gen(function*() {
    const memberships = yield* MembershipsRepo

    /** The principal's role in the project, `admin` for super-admins, undefined when not a member. */
    const roleIn = (principal: Principal, projectId: string): Effect.Effect<ProjectRole | undefined, DatabaseError> =>
      principal.superAdmin
        ? Effect.succeed("admin")
        : principal.kind === "user"
        ? memberships.roleOf(principal.userId, projectId)
        : Effect.succeed(undefined)

    const requireProjectRole = (
      principal: Principal,
      projectId: string,
      role: ProjectRole
    ): Effect.Effect<void, RoleRequired | DatabaseError> =>
      Effect.flatMap(roleIn(principal, projectId), (actual) =>
        actual !== undefined && ROLE_RANK[actual] >= ROLE_RANK[role]
          ? Effect.void
          : Effect.fail(new RoleRequired({ role, message: `this action needs the ${role} role on the project` })))

    /** `undefined` = every project; otherwise the ids the principal may see. */
    const visibleProjectIds = (principal: Principal): Effect.Effect<ReadonlyArray<string> | undefined, DatabaseError> =>
      principal.superAdmin
        ? Effect.succeed(undefined)
        : principal.kind === "user"
        ? Effect.map(memberships.forUser(principal.userId), (ms) => ms.map((m) => m.projectId))
        : Effect.succeed([])

    /** Viewers see env keys but not values. */
    const canSeeEnvValues = (principal: Principal, projectId: string): Effect.Effect<boolean, DatabaseError> =>
      Effect.map(roleIn(principal, projectId), (role) => role !== undefined && ROLE_RANK[role] >= ROLE_RANK.operator)

    return { roleIn, requireProjectRole, visibleProjectIds, canSeeEnvValues }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
