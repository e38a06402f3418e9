/** ServicesApp: the delete workflow (stop, rows, secrets) and the secrets' audit records, on SQLite and a fake coordinator. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import type { Caller } from "../../../src/app/Caller.js"
import { ServicesApp } from "../../../src/app/ServicesApp.js"
import { CreateService } from "../../../src/domain/service.js"
import { AuditRepo } from "../../../src/repos/AuditRepo.js"
import { ServiceSecretsRepo } from "../../../src/repos/ServiceSecretsRepo.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { SecretStore } from "../../../src/secrets/SecretStore.js"
import { appTestLayer, CoordinatorCalls, makeProject, makeService, makeUser } from "./layers.js"

const admin: Caller = { principal: { kind: "adminToken", superAdmin: true }, clientIp: "192.0.2.10" }

describe("ServicesApp.remove", () => {
  it.scoped("stops the service while its row still exists, then removes the row and the secrets' encrypted files", () =>
    Effect.gen(function*() {
      const app = yield* ServicesApp
      const project = yield* makeProject("shop")
      const service = yield* makeService(project, "web")
      yield* app.setSecret(admin, service.id, "DB_PASSWORD", "hunter2")
      const [row] = yield* (yield* ServiceSecretsRepo).list(service.id)
      const store = yield* SecretStore
      expect(row).toBeDefined()
      const ref = row?.secretRef ?? ""
      expect(yield* store.exists(project.id, ref)).toBe(true)

      yield* app.remove(service.id)

      const { calls } = yield* CoordinatorCalls
      expect(calls).toEqual([{ op: "stopService", serviceId: service.id, serviceRowExisted: true }])
      const gone = yield* Effect.exit((yield* ServicesRepo).get(service.id))
      expect(Exit.isFailure(gone)).toBe(true)
      expect(yield* store.exists(project.id, ref)).toBe(false)
      expect(yield* (yield* ServiceSecretsRepo).list(service.id)).toEqual([])
    }).pipe(Effect.provide(appTestLayer())))

  it.scoped("an unknown service is NotFound and nothing is stopped", () =>
    Effect.gen(function*() {
      const app = yield* ServicesApp
      const error = yield* Effect.flip(app.remove("0190f5c2-0000-7000-8000-000000000000"))
      expect(error._tag).toBe("denia/domain/NotFound")
      expect((yield* CoordinatorCalls).calls).toEqual([])
    }).pipe(Effect.provide(appTestLayer())))
})

describe("ServicesApp secrets", () => {
  it.scoped("set and remove are audited with the caller's actor and client IP, never the value", () =>
    Effect.gen(function*() {
      const app = yield* ServicesApp
      const project = yield* makeProject("shop")
      const service = yield* makeService(project, "web")
      const principal = yield* makeUser("ada", project, "operator")
      const caller: Caller = { principal, clientIp: "198.51.100.7" }
      yield* app.setSecret(caller, service.id, "API_KEY", "s3cr3t")
      yield* app.removeSecret(caller, service.id, "API_KEY")
      const { items } = yield* (yield* AuditRepo).page(10, undefined)
      const mine = items.filter((e) => e.target?.includes(service.id) === true)
      expect(mine.length).toBe(2)
      for (const e of mine) {
        expect(e.actor).toBe("user:ada")
        expect(e.clientIp).toBe("198.51.100.7")
        expect(JSON.stringify(e.details)).not.toContain("s3cr3t")
      }
      const missing = yield* Effect.flip(app.removeSecret(caller, service.id, "API_KEY"))
      expect(missing._tag).toBe("denia/domain/NotFound")
    }).pipe(Effect.provide(appTestLayer())))
})

describe("ServicesApp.create", () => {
  it.scoped("needs operator in the target project", () =>
    Effect.gen(function*() {
      const app = yield* ServicesApp
      const project = yield* makeProject("shop")
      const viewer = yield* makeUser("vic", project, "viewer")
      const input = Schema.decodeUnknownSync(CreateService)({
        projectId: project.id,
        name: "web",
        source: { type: "image", image: "docker.io/library/app:latest" },
        port: 8080
      })
      const error = yield* Effect.flip(app.create(viewer, input))
      expect(error._tag).toBe("denia/auth/RoleRequired")
      expect(yield* (yield* ServicesRepo).list({ projectIds: [project.id] })).toEqual([])
    }).pipe(Effect.provide(appTestLayer())))
})
