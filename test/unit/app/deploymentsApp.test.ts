/** DeploymentsApp: deploy authorization before the coordinator, audit of deploys and actions, on SQLite and a fake coordinator. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Caller } from "../../../src/app/Caller.js"
import { DeploymentsApp } from "../../../src/app/DeploymentsApp.js"
import { AuditRepo } from "../../../src/repos/AuditRepo.js"
import { DeploymentsRepo } from "../../../src/repos/DeploymentsRepo.js"
import { appTestLayer, CoordinatorCalls, hostedAddress, makeProject, makeService, makeUser } from "./layers.js"

const auditFor = (target: string) =>
  Effect.map(
    Effect.flatMap(AuditRepo, (audit) => audit.page(50, undefined)),
    ({ items }) =>
      items.filter((e) => e.target === target).map((e) => ({ actor: e.actor, action: e.action, clientIp: e.clientIp, details: e.details }))
  )

describe("DeploymentsApp.deploy", () => {
  it.scoped("an operator's deploy reaches the coordinator and is audited with the deployment and image", () =>
    Effect.gen(function*() {
      const app = yield* DeploymentsApp
      const project = yield* makeProject("shop")
      const service = yield* makeService(project, "web")
      const caller: Caller = { principal: yield* makeUser("ada", project, "operator"), clientIp: "198.51.100.7" }
      const d = yield* app.deploy(caller, service.id, "docker.io/library/app:v2")
      expect((yield* CoordinatorCalls).calls).toEqual([{ op: "deploy", serviceId: service.id, image: "docker.io/library/app:v2" }])
      expect(yield* auditFor(`service:${service.id}`)).toEqual([
        { actor: "user:ada", action: "deploy", clientIp: "198.51.100.7", details: { deployment: d.id, image: "docker.io/library/app:v2" } }
      ])
    }).pipe(Effect.provide(appTestLayer())))

  it.scoped("a malformed image override is Invalid on `image`: nothing queued, nothing audited", () =>
    Effect.gen(function*() {
      const app = yield* DeploymentsApp
      const project = yield* makeProject("shop")
      const service = yield* makeService(project, "web")
      const caller: Caller = { principal: { kind: "adminToken", superAdmin: true }, clientIp: "192.0.2.1" }
      const error = yield* Effect.flip(app.deploy(caller, service.id, "Bad Image\n"))
      expect(error._tag).toBe("denia/domain/Invalid")
      expect(error._tag === "denia/domain/Invalid" ? error.field : "").toBe("image")
      expect((yield* CoordinatorCalls).calls).toEqual([])
      expect(yield* auditFor(`service:${service.id}`)).toEqual([])
    }).pipe(Effect.provide(appTestLayer())))

  it.scoped("a hosted image of a project the caller may not read is refused naming `image`", () =>
    Effect.gen(function*() {
      const app = yield* DeploymentsApp
      const mine = yield* makeProject("shop")
      const foreign = yield* makeProject("vault")
      yield* makeService(foreign, "api")
      const service = yield* makeService(mine, "web")
      const caller: Caller = { principal: yield* makeUser("ada", mine, "operator"), clientIp: "198.51.100.7" }
      const error = yield* Effect.flip(app.deploy(caller, service.id, `${yield* hostedAddress}/vault/api:v1`))
      expect(error._tag).toBe("denia/auth/RoleRequired")
      expect(error.message).toMatch(/^image: hosted repository vault\/api /)
      expect((yield* CoordinatorCalls).calls).toEqual([])
      expect(yield* auditFor(`service:${service.id}`)).toEqual([])
    }).pipe(Effect.provide(appTestLayer())))
})

describe("DeploymentsApp.create", () => {
  it.scoped("needs operator in the service's project; a viewer's request never reaches the coordinator", () =>
    Effect.gen(function*() {
      const app = yield* DeploymentsApp
      const project = yield* makeProject("shop")
      const service = yield* makeService(project, "web")
      const viewer: Caller = { principal: yield* makeUser("vic", project, "viewer"), clientIp: "198.51.100.8" }
      const error = yield* Effect.flip(app.create(viewer, service.id, undefined))
      expect(error._tag).toBe("denia/auth/RoleRequired")
      expect((yield* CoordinatorCalls).calls).toEqual([])
      expect(yield* (yield* DeploymentsRepo).listForService(service.id)).toEqual([])

      const operator: Caller = { principal: yield* makeUser("ada", project, "operator"), clientIp: "198.51.100.7" }
      const d = yield* app.create(operator, service.id, undefined)
      expect(d.serviceId).toBe(service.id)
      expect((yield* auditFor(`service:${service.id}`)).map((e) => e.action)).toEqual(["deploy"])
    }).pipe(Effect.provide(appTestLayer())))
})

describe("DeploymentsApp.action", () => {
  it.scoped("stop is audited without details, restart with its deployment; a refused action is not audited", () =>
    Effect.gen(function*() {
      const app = yield* DeploymentsApp
      const project = yield* makeProject("shop")
      const service = yield* makeService(project, "web")
      const caller: Caller = { principal: { kind: "adminToken", superAdmin: true }, clientIp: "192.0.2.1" }
      expect(yield* app.action(caller, service.id, "stop")).toBeUndefined()
      const restarted = yield* app.action(caller, service.id, "restart")
      const refused = yield* Effect.flip(app.action(caller, service.id, "rollback"))
      expect(refused._tag).toBe("denia/deploy/ActionConflict")
      const entries = yield* auditFor(`service:${service.id}`)
      // newest first
      expect(entries).toEqual([
        { actor: "admin-token", action: "restart", clientIp: "192.0.2.1", details: { deployment: restarted?.id } },
        { actor: "admin-token", action: "stop", clientIp: "192.0.2.1", details: {} }
      ])
    }).pipe(Effect.provide(appTestLayer({ conflicting: ["rollback"] }))))
})
