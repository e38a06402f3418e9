/** ServicesApp: the delete workflow (stop, rows, secrets) and the secrets' audit records, on SQLite and a fake coordinator. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import type { Caller } from "../../../src/app/Caller.js"
import { ServicesApp } from "../../../src/app/ServicesApp.js"
import { Invalid } from "../../../src/domain/errors.js"
import { CreateService, UpdateService } from "../../../src/domain/service.js"
import { AuditRepo } from "../../../src/repos/AuditRepo.js"
import { DomainsRepo } from "../../../src/repos/DomainsRepo.js"
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

describe("ServicesApp.update: workers and health kinds", () => {
  const superAdmin = admin.principal
  const invalidField = (e: unknown) => (e instanceof Invalid ? `${e.field}: ${e.message}` : String(e))

  it.scoped("turning a service into a worker without naming a check switches to the settle check, and back to HTTP", () =>
    Effect.gen(function*() {
      const app = yield* ServicesApp
      const service = yield* makeService(yield* makeProject("shop"), "jobs")
      const worker = yield* app.update(superAdmin, service.id, { port: null })
      expect(worker.port).toBeNull()
      expect(worker.health).toEqual({ type: "running", settleSeconds: 5 })
      const back = yield* app.update(superAdmin, service.id, { port: 9000 })
      expect(back.health).toEqual({ type: "http", path: "/", timeoutSeconds: 30 })
      const tcp = yield* app.update(superAdmin, service.id, { health: { type: "tcp", timeoutSeconds: 5 } })
      expect(tcp.health).toEqual({ type: "tcp", timeoutSeconds: 5 })
    }).pipe(Effect.provide(appTestLayer())))

  it.scoped("the patched spec is checked across fields; nothing is written on refusal", () =>
    Effect.gen(function*() {
      const app = yield* ServicesApp
      const service = yield* makeService(yield* makeProject("shop"), "web")
      const named = yield* Effect.flip(app.update(superAdmin, service.id, { port: null, health: { type: "tcp", timeoutSeconds: 5 } }))
      expect(invalidField(named)).toMatch(/^health\.type: a worker \(port: null\)/)
      yield* app.update(superAdmin, service.id, { tlsEnabled: true })
      expect(invalidField(yield* Effect.flip(app.update(superAdmin, service.id, { port: null })))).toMatch(/^tlsEnabled: a worker/)
      expect(invalidField(yield* Effect.flip(app.update(superAdmin, service.id, { shmMb: 600, limits: { memoryMb: 512 } })))).toMatch(
        /^shmMb: must not exceed limits\.memoryMb \(512\)/
      )
      const unchanged = yield* (yield* ServicesRepo).get(service.id)
      expect([unchanged.port, unchanged.health.type, unchanged.shmMb]).toEqual([8080, "http", 64])
    }).pipe(Effect.provide(appTestLayer())))

  it.scoped("a service with attached domains cannot become a worker until they are detached", () =>
    Effect.gen(function*() {
      const app = yield* ServicesApp
      const service = yield* makeService(yield* makeProject("shop"), "web")
      yield* (yield* DomainsRepo).create({ serviceId: service.id, hostname: "shop.example.com", token: "t", proof: "p" })
      const refused = yield* Effect.flip(app.update(superAdmin, service.id, { port: null }))
      expect(invalidField(refused)).toBe(
        "port: a worker (port: null) has no HTTP route, but shop.example.com is attached; detach it first"
      )
    }).pipe(Effect.provide(appTestLayer())))

  it.scoped("capabilities and shm are stored as sent (names canonical)", () =>
    Effect.gen(function*() {
      const app = yield* ServicesApp
      const service = yield* makeService(yield* makeProject("shop"), "web")
      const patch = Schema.decodeUnknownSync(UpdateService)({ capabilities: { drop: ["all"], add: ["net_bind_service"] }, shmMb: 16 })
      const updated = yield* app.update(superAdmin, service.id, patch)
      expect(updated.capabilities).toEqual({ drop: ["ALL"], add: ["NET_BIND_SERVICE"] })
      expect((yield* (yield* ServicesRepo).get(service.id)).shmMb).toBe(16)
    }).pipe(Effect.provide(appTestLayer())))
})
