/**
 * Services: creation and PATCH with the caller's image authorization,
 * deletion (stop, then rows, then the service's secrets), and the service's
 * secrets with their audit records.
 */
import { Context, Effect, Layer, Option } from "effect"
import { Authz } from "../auth/Authz.js"
import { Coordinator } from "../deploy/Coordinator.js"
import { makeImageAuthorization } from "../deploy/imageAuthorization.js"
import { Conflict, Invalid } from "../domain/errors.js"
import type { Principal } from "../domain/principal.js"
import {
  buildSecretsOf,
  type CreateService,
  defaultHealth,
  type HealthCheck,
  type Service,
  type ServiceSource,
  specProblem,
  type UpdateService
} from "../domain/service.js"
import { DomainEvent } from "../events/DomainEvent.js"
import { Events } from "../events/Events.js"
import { EndpointPorts } from "../network/EndpointPorts.js"
import { describeNetwork, NodeNetwork } from "../network/NodeNetwork.js"
import { DomainsRepo } from "../repos/DomainsRepo.js"
import { ProjectsRepo } from "../repos/ProjectsRepo.js"
import { type ServiceSpec, ServicesRepo } from "../repos/ServicesRepo.js"
import { ServiceSecrets } from "../secrets/serviceSecrets.js"
import { Volumes } from "../volumes/Volumes.js"
import { type Caller, changeContextOf } from "./Caller.js"
import { redactService } from "./redaction.js"

/** PATCH may repeat the identity fields, but never change them. */
const checkIdentity = (current: Service, patch: UpdateService) =>
  patch.id !== undefined && patch.id !== current.id
    ? Effect.fail(new Invalid({ field: "id", message: "does not match the service in the path" }))
    : patch.projectId !== undefined && patch.projectId !== current.projectId
    ? Effect.fail(new Invalid({ field: "projectId", message: "cannot be changed; create the service in the other project instead" }))
    : patch.name !== undefined && patch.name !== current.name
    ? Effect.fail(new Invalid({ field: "name", message: "cannot be changed; create a new service instead" }))
    : Effect.void

/**
 * The health check after a patch: the one sent, else the current one — unless
 * the patch turns a service into a worker (or back) without naming one, then
 * the default of the new kind (an HTTP check cannot apply to a worker).
 */
const patchedHealth = (current: Service, patch: UpdateService, port: number | null): HealthCheck => {
  if (patch.health !== undefined) return patch.health
  const kindChanged = (port === null) !== (current.port === null)
  return kindChanged ? defaultHealth(port) : current.health
}

const applyPatch = (current: Service, patch: UpdateService): ServiceSpec => {
  const port = patch.port === undefined ? current.port : patch.port
  return {
    source: patch.source ?? current.source,
    port,
    env: patch.env ?? current.env,
    limits: patch.limits === undefined ? current.limits : patch.limits,
    health: patchedHealth(current, patch, port),
    tlsEnabled: patch.tlsEnabled ?? current.tlsEnabled,
    autoscale: patch.autoscale === undefined ? current.autoscale : patch.autoscale,
    endpoints: patch.endpoints ?? current.endpoints,
    capabilities: patch.capabilities ?? current.capabilities,
    shmMb: patch.shmMb ?? current.shmMb,
    volumes: patch.volumes ?? current.volumes
  }
}

/** The cross-field rules of the patched spec (the create body checks the same ones in its schema). */
const checkSpec = (spec: ServiceSpec) => {
  const problem = specProblem(spec)
  return problem === undefined ? Effect.void : Effect.fail(new Invalid(problem))
}

/** A volume is never mounted by two replicas: a service with volumes runs one (recreate strategy, ADR 0901). */
const checkSingleReplica = (spec: Pick<ServiceSpec, "volumes" | "autoscale">) =>
  spec.volumes.length > 0 && spec.autoscale !== null && spec.autoscale.maxReplicas > 1
    ? Effect.fail(
      new Conflict({
        message: `autoscale.maxReplicas: a service with volumes (${
          spec.volumes.map((v) => v.name).join(", ")
        }) runs one replica; two replicas would share the same data. Set maxReplicas to 1 or remove the volumes`
      })
    )
    : Effect.void

const make = Effect.gen(function*() {
  const services = yield* ServicesRepo
  const projects = yield* ProjectsRepo
  const authz = yield* Authz
  const coordinator = yield* Coordinator
  const images = yield* makeImageAuthorization
  const serviceSecrets = yield* ServiceSecrets
  const events = yield* Events
  const volumes = yield* Volumes
  const ports = yield* EndpointPorts
  const network = yield* Effect.serviceOption(NodeNetwork)
  /** The live status, with the node network's mode (loopback only says why). */
  const withStatus = (s: Service) =>
    Effect.map(coordinator.withStatus(s), (withLive) =>
      withLive.status === undefined || Option.isNone(network)
        ? withLive
        : { ...withLive, status: { ...withLive.status, network: describeNetwork(network.value.status) } })
  const domains = yield* DomainsRepo

  /** A worker has no HTTP route: turning a service with custom domains into one is refused until they are detached. */
  const checkWorkerDomains = (current: Service, spec: ServiceSpec) =>
    spec.port !== null || current.port === null
      ? Effect.void
      : Effect.flatMap(domains.listByService(current.id), (attached) =>
        attached.length === 0 ? Effect.void : Effect.fail(
          new Invalid({
            field: "port",
            message: `a worker (port: null) has no HTTP route, but ${attached.map((d) => d.hostname).join(", ")} ${
              attached.length === 1 ? "is" : "are"
            } attached; detach ${attached.length === 1 ? "it" : "them"} first`
          })
        ))

  /**
   * A source sent in a PATCH may only name build secrets the service has (ADR 0806). A new service has no
   * secrets yet, so create takes the names as they are; a deploy fails naming the field if one is missing.
   */
  const checkBuildSecrets = (serviceId: string, source: ServiceSource) =>
    Effect.gen(function*() {
      const wanted = buildSecretsOf(source)
      if (wanted.length === 0) return
      const present = new Set((yield* serviceSecrets.list(serviceId)).map((s) => s.name))
      const missing = wanted.findIndex((b) => !present.has(b.secret))
      if (missing >= 0) {
        return yield* new Invalid({
          field: `source.buildSecrets[${missing}].secret`,
          message: `the service has no secret named ${wanted[missing]?.secret ?? ""}; set it first (POST /v1/services/${serviceId}/secrets)`
        })
      }
    })

  /** The services of the projects `principal` may see (optionally one project) with their live status, env values redacted below operator. */
  const list = (principal: Principal, projectId: string | undefined) =>
    Effect.gen(function*() {
      const visible = yield* authz.visibleProjectIds(principal)
      const projectIds = projectId === undefined ? visible : visible === undefined || visible.includes(projectId) ? [projectId] : []
      const items = yield* services.list({ projectIds })
      return yield* Effect.forEach(items, (s) => Effect.flatMap(redactService(authz, principal)(s), withStatus))
    })

  /** One service with its live status (env values redacted below operator). */
  const get = (principal: Principal, id: string) =>
    Effect.flatMap(services.get(id), (s) => Effect.flatMap(redactService(authz, principal)(s), withStatus))

  /** Operator of the target project, and an image source the caller may use. */
  const create = (principal: Principal, input: CreateService) =>
    Effect.gen(function*() {
      const project = yield* projects.get(input.projectId)
      yield* authz.requireProjectRole(principal, project.id, "operator")
      yield* images.checkSource(principal, project.id, input.source)
      yield* checkSingleReplica(input)
      // Public ports of TCP/UDP endpoints: chosen (400/409) before the row exists, claimed right after it.
      const endpoints = yield* ports.plan(undefined, input.endpoints)
      const created = yield* services.create({ ...input, endpoints })
      yield* ports.claim(created.id, endpoints).pipe(Effect.tapError(() => Effect.ignore(services.remove(created.id))))
      yield* events.publish(DomainEvent.ServiceCreated({ projectId: created.projectId, serviceId: created.id }))
      return created
    })

  const update = (principal: Principal, id: string, patch: UpdateService) =>
    Effect.gen(function*() {
      const current = yield* services.get(id)
      yield* checkIdentity(current, patch)
      if (patch.source !== undefined) yield* images.checkSource(principal, current.projectId, patch.source)
      if (patch.source !== undefined) yield* checkBuildSecrets(current.id, patch.source)
      const spec = applyPatch(current, patch)
      yield* checkSpec(spec)
      yield* checkWorkerDomains(current, spec)
      yield* checkSingleReplica(spec)
      // Public ports of TCP/UDP endpoints: resolved (400/409) before the spec is written, claimed right after.
      const endpoints = patch.endpoints === undefined ? undefined : yield* ports.plan(current.id, patch.endpoints)
      const updated = yield* services.updateSpec(current.id, endpoints === undefined ? spec : { ...spec, endpoints })
      if (endpoints !== undefined) yield* ports.claim(current.id, endpoints)
      yield* events.publish(DomainEvent.ServiceUpdated({ projectId: updated.projectId, serviceId: updated.id }))
      return updated
    })

  /**
   * Stop first: no replica outlives its service. Then the rows, then the
   * service's secrets; its volumes stay on disk (a service re-created under
   * the same name finds them) unless `purgeVolumes`.
   */
  const remove = (id: string, purgeVolumes = false) =>
    Effect.flatMap(
      services.get(id),
      (s) =>
        coordinator.stopService(s.id).pipe(
          Effect.zipRight(serviceSecrets.purgeAfter(
            s,
            services.remove(s.id).pipe(
              Effect.tap(() => events.publish(DomainEvent.ServiceDeleted({ projectId: s.projectId, serviceId: s.id })))
            )
          )),
          Effect.zipRight(purgeVolumes ? volumes.purge({ projectId: s.projectId, serviceName: s.name }) : Effect.void)
        )
    )

  const listSecrets = (serviceId: string) => Effect.flatMap(services.get(serviceId), (s) => serviceSecrets.list(s.id))

  const setSecret = (caller: Caller, serviceId: string, name: string, value: string) =>
    Effect.flatMap(services.get(serviceId), (s) => serviceSecrets.set(changeContextOf(caller), s, name, value))

  const removeSecret = (caller: Caller, serviceId: string, name: string) =>
    Effect.flatMap(services.get(serviceId), (s) => serviceSecrets.remove(changeContextOf(caller), s, name))

  return { list, get, create, update, remove, listSecrets, setSecret, removeSecret }
})

export type ServicesAppApi = Effect.Effect.Success<typeof make>

export class ServicesApp extends Context.Tag("denia/app/ServicesApp")<ServicesApp, ServicesAppApi>() {
  static readonly layer = Layer.effect(ServicesApp, make)
}
