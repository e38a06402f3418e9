/**
 * Test layers for the application services: real repositories on a fresh
 * SQLite file, real auth, secrets (SecretStore.layerTest), hosted pulls and
 * FakeRuntime; the deployment coordinator is a recording fake, so the
 * workflows around it run without root or images.
 */
import { Effect, Layer, Option, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DeploymentsApp } from "../../../src/app/DeploymentsApp.js"
import { MembersApp } from "../../../src/app/MembersApp.js"
import { ServicesApp } from "../../../src/app/ServicesApp.js"
import { Authz } from "../../../src/auth/Authz.js"
import { DeniaConfig } from "../../../src/config/Config.js"
import { Database } from "../../../src/db/Database.js"
import { Coordinator, type CoordinatorApi, type ServiceAction } from "../../../src/deploy/Coordinator.js"
import { DeploymentLog } from "../../../src/deploy/DeploymentLog.js"
import { ActionConflict } from "../../../src/deploy/errors.js"
import type { Principal, ProjectRole } from "../../../src/domain/principal.js"
import { CreateProject, type Project } from "../../../src/domain/project.js"
import { CreateService, type Service } from "../../../src/domain/service.js"
import { Events } from "../../../src/events/Events.js"
import { EndpointPorts } from "../../../src/network/EndpointPorts.js"
import { HostedPulls } from "../../../src/registry/hostedPulls.js"
import { AuditRepo } from "../../../src/repos/AuditRepo.js"
import { DeploymentsRepo } from "../../../src/repos/DeploymentsRepo.js"
import { DomainsRepo } from "../../../src/repos/DomainsRepo.js"
import { MembershipsRepo } from "../../../src/repos/MembershipsRepo.js"
import { ProjectsRepo } from "../../../src/repos/ProjectsRepo.js"
import { RegistriesRepo } from "../../../src/repos/RegistriesRepo.js"
import { ServiceSecretsRepo } from "../../../src/repos/ServiceSecretsRepo.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { UsersRepo } from "../../../src/repos/UsersRepo.js"
import { Runtime } from "../../../src/runtime/Runtime.js"
import { Registries } from "../../../src/secrets/registries.js"
import { SecretStore } from "../../../src/secrets/SecretStore.js"
import { ServiceSecrets } from "../../../src/secrets/serviceSecrets.js"
import { Volumes } from "../../../src/volumes/Volumes.js"
import { testConfig } from "../../support/daemon.js"

/** What the fake coordinator was asked, in order. */
export type CoordinatorCall =
  | { readonly op: "deploy"; readonly serviceId: string; readonly image: string | undefined }
  | { readonly op: "action"; readonly serviceId: string; readonly action: ServiceAction }
  | { readonly op: "stopService"; readonly serviceId: string; readonly serviceRowExisted: boolean }

export class CoordinatorCalls extends Effect.Service<CoordinatorCalls>()("test/app/CoordinatorCalls", {
  sync: () => ({ calls: [] as Array<CoordinatorCall> })
}) {}

/** Actions named here fail with ActionConflict, like the real coordinator refusing them. */
const fakeCoordinator = (conflicting: ReadonlyArray<ServiceAction>) =>
  Layer.effect(
    Coordinator,
    Effect.gen(function*() {
      const { calls } = yield* CoordinatorCalls
      const services = yield* ServicesRepo
      const deployments = yield* DeploymentsRepo
      const api: CoordinatorApi = {
        deploy: (serviceId, image) =>
          Effect.gen(function*() {
            calls.push({ op: "deploy", serviceId, image })
            yield* services.get(serviceId)
            return yield* deployments.create(serviceId, image ?? "docker.io/library/app:latest")
          }),
        action: (serviceId, action) =>
          Effect.gen(function*() {
            calls.push({ op: "action", serviceId, action })
            yield* services.get(serviceId)
            if (conflicting.includes(action)) return yield* new ActionConflict({ message: `${action} refused by the fake` })
            return action === "stop" ? undefined : yield* deployments.create(serviceId, "docker.io/library/app:latest")
          }),
        stopService: (serviceId) =>
          Effect.map(services.find(serviceId), (row) => {
            calls.push({ op: "stopService", serviceId, serviceRowExisted: Option.isSome(row) })
          }),
        boot: Effect.void,
        isRunning: () => Effect.succeed(undefined),
        withStatus: Effect.succeed
      }
      return api
    })
  )

export type AppTestServices =
  | ServicesApp
  | DeploymentsApp
  | MembersApp
  | CoordinatorCalls
  | ProjectsRepo
  | ServicesRepo
  | UsersRepo
  | MembershipsRepo
  | AuditRepo
  | ServiceSecretsRepo
  | DomainsRepo
  | SecretStore
  | Events

/** A fresh world per test: temp dir, SQLite file, config on free ports; removed when the scope closes. */
export const appTestLayer = (options: { readonly conflicting?: ReadonlyArray<ServiceAction> } = {}) =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "denia-app-"))),
        (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
      )
      const config = yield* Effect.promise(() => testConfig(dir))
      const configLayer = DeniaConfig.layer(config)
      const db = Database.layer(config.paths.sqlite)
      const repos = Layer.mergeAll(
        ProjectsRepo.layer,
        ServicesRepo.layer,
        DeploymentsRepo.layer,
        UsersRepo.layer,
        MembershipsRepo.layer,
        AuditRepo.layer,
        RegistriesRepo.layer,
        ServiceSecretsRepo.layer,
        DomainsRepo.layer
      ).pipe(Layer.provide(db))
      const secrets = Layer.merge(Registries.layer, ServiceSecrets.layer).pipe(
        Layer.provideMerge(SecretStore.layerTest),
        Layer.provide(repos)
      )
      const base = Layer.mergeAll(
        repos,
        secrets,
        configLayer,
        Authz.layer.pipe(Layer.provide(repos)),
        HostedPulls.layer.pipe(Layer.provide(configLayer)),
        Runtime.layerTest(),
        DeploymentLog.layer(config.paths.logs),
        CoordinatorCalls.Default,
        Volumes.layer({
          dataDir: dir,
          usernsBase: 0,
          usernsSize: 65536,
          maxArchiveBytes: 1 << 20,
          maxUnpackedBytes: 1 << 20,
          maxArchiveEntries: 1000,
          shiftIds: false
        }),
        Events.layer,
        Events.layer,
        EndpointPorts.layer.pipe(Layer.provide(Layer.merge(db, configLayer)))
      )
      const coordinator = fakeCoordinator(options.conflicting ?? []).pipe(Layer.provide(base))
      return Layer.mergeAll(ServicesApp.layer, DeploymentsApp.layer, MembersApp.layer).pipe(
        Layer.provideMerge(Layer.merge(base, coordinator))
      )
    })
  )

export const hostedAddress = Effect.map(DeniaConfig, (c) => c.values.bindAddr)

export const makeProject = (name: string): Effect.Effect<Project, unknown, ProjectsRepo> =>
  Effect.flatMap(ProjectsRepo, (projects) => projects.create(Schema.decodeUnknownSync(CreateProject)({ name })))

export const makeService = (
  project: Project,
  name: string,
  source: unknown = { type: "image", image: "docker.io/library/app:latest" }
): Effect.Effect<Service, unknown, ServicesRepo> =>
  Effect.flatMap(
    ServicesRepo,
    (services) => services.create(Schema.decodeUnknownSync(CreateService)({ projectId: project.id, name, source, port: 8080 }))
  )

/** A user principal with `role` in `project` (none when `role` is undefined). */
export const makeUser = (
  username: string,
  project: Project,
  role: ProjectRole | undefined
): Effect.Effect<Principal, unknown, UsersRepo | MembershipsRepo> =>
  Effect.gen(function*() {
    const user = yield* (yield* UsersRepo).create({ username, passwordHash: "unused", superAdmin: false })
    if (role !== undefined) yield* (yield* MembershipsRepo).set(project.id, user.id, role)
    return {
      kind: "user",
      userId: user.id,
      username: user.username,
      superAdmin: false,
      credentialId: "cred-test",
      credentialKind: "session"
    }
  })
