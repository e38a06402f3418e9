/** MembersApp: membership changes are audited against the project, with the caller's actor and client IP. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Caller } from "../../../src/app/Caller.js"
import { MembersApp } from "../../../src/app/MembersApp.js"
import { AuditRepo } from "../../../src/repos/AuditRepo.js"
import { appTestLayer, makeProject, makeUser } from "./layers.js"

const admin: Caller = { principal: { kind: "adminToken", superAdmin: true }, clientIp: "192.0.2.10" }

describe("MembersApp", () => {
  it.scoped("set names the user and role, remove the user id; an unknown user is NotFound and not audited", () =>
    Effect.gen(function*() {
      const app = yield* MembersApp
      const project = yield* makeProject("shop")
      const ada = yield* makeUser("ada", project, undefined)
      const userId = ada.kind === "user" ? ada.userId : ""
      const membership = yield* app.set(admin, project.id, userId, "operator")
      expect(membership.role).toBe("operator")
      expect((yield* app.list(project.id)).map((m) => m.userId)).toEqual([userId])
      yield* app.remove(admin, project.id, userId)
      expect(yield* app.list(project.id)).toEqual([])
      const unknown = yield* Effect.flip(app.set(admin, project.id, "0190f5c2-0000-7000-8000-000000000000", "viewer"))
      expect(unknown._tag).toBe("denia/domain/NotFound")
      const { items } = yield* (yield* AuditRepo).page(10, undefined)
      expect(items.map((e) => ({ actor: e.actor, action: e.action, target: e.target, clientIp: e.clientIp, details: e.details }))).toEqual([
        { actor: "admin-token", action: "member.remove", target: `project:${project.id}`, clientIp: "192.0.2.10", details: { userId } },
        {
          actor: "admin-token",
          action: "member.set",
          target: `project:${project.id}`,
          clientIp: "192.0.2.10",
          details: { user: "ada", role: "operator" }
        }
      ])
    }).pipe(Effect.provide(appTestLayer())))
})
