/** Project memberships: set and remove, each audited against the project. */
import { Context, Effect, Layer } from "effect"
import type { ProjectRole } from "../domain/principal.js"
import { AuditRepo } from "../repos/AuditRepo.js"
import { MembershipsRepo } from "../repos/MembershipsRepo.js"
import { UsersRepo } from "../repos/UsersRepo.js"
import { type Caller, changeContextOf } from "./Caller.js"

const make = Effect.gen(function*() {
  const memberships = yield* MembershipsRepo
  const users = yield* UsersRepo
  const audit = yield* AuditRepo

  const list = (projectId: string) => memberships.forProject(projectId)

  /** Gives `userId` `role` in the project (the user must exist); audited as `member.set` with the username. */
  const set = (caller: Caller, projectId: string, userId: string, role: ProjectRole) =>
    Effect.gen(function*() {
      const user = yield* users.get(userId)
      const membership = yield* memberships.set(projectId, user.id, role)
      yield* audit.record({
        ...changeContextOf(caller),
        action: "member.set",
        target: `project:${projectId}`,
        outcome: "ok",
        details: { user: user.username, role }
      })
      return membership
    })

  /** Audited as `member.remove`. */
  const remove = (caller: Caller, projectId: string, userId: string) =>
    Effect.gen(function*() {
      yield* memberships.remove(projectId, userId)
      yield* audit.record({
        ...changeContextOf(caller),
        action: "member.remove",
        target: `project:${projectId}`,
        outcome: "ok",
        details: { userId }
      })
    })

  return { list, set, remove }
})

export type MembersAppApi = Effect.Effect.Success<typeof make>

export class MembersApp extends Context.Tag("denia/app/MembersApp")<MembersApp, MembersAppApi>() {
  static readonly layer = Layer.effect(MembersApp, make)
}
