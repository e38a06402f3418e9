/**
 * Deployments: what a deploy may pull is authorized for the caller before
 * the coordinator queues it; deploys and service actions are audited; log
 * streams of deployments and of a service's replicas.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as fs from "node:fs/promises"
import { Authz } from "../auth/Authz.js"
import { Coordinator, type ServiceAction } from "../deploy/Coordinator.js"
import { DeploymentLog } from "../deploy/DeploymentLog.js"
import { followFile } from "../deploy/followFile.js"
import { makeImageAuthorization } from "../deploy/imageAuthorization.js"
import { runtimeServiceName } from "../deploy/runtimeNames.js"
import { TERMINAL_STATUSES } from "../domain/deployment.js"
import { validateImageReference } from "../domain/service.js"
import { AuditRepo } from "../repos/AuditRepo.js"
import { DeploymentsRepo } from "../repos/DeploymentsRepo.js"
import { ProjectsRepo } from "../repos/ProjectsRepo.js"
import { ServicesRepo } from "../repos/ServicesRepo.js"
import { Runtime } from "../runtime/index.js"
import { type Caller, changeContextOf } from "./Caller.js"

const make = Effect.gen(function*() {
  const deployments = yield* DeploymentsRepo
  const services = yield* ServicesRepo
  const projects = yield* ProjectsRepo
  const coordinator = yield* Coordinator
  const deploymentLog = yield* DeploymentLog
  const runtime = yield* Runtime
  const audit = yield* AuditRepo
  const authz = yield* Authz
  const images = yield* makeImageAuthorization

  const audited = (caller: Caller, action: string, target: string, details: Record<string, string>) =>
    audit.record({ ...changeContextOf(caller), action, target, outcome: "ok", details })

  /**
   * The override is checked like a service image (grammar, no control
   * characters), then what will be pulled is authorized for the caller.
   */
  const authorizePull = (caller: Caller, serviceId: string, image: string | undefined) =>
    Effect.gen(function*() {
      if (image !== undefined) yield* validateImageReference("image", image)
      const service = yield* services.get(serviceId)
      const project = yield* projects.get(service.projectId)
      yield* images.authorizeDeploy(caller.principal, service, project, image)
    })

  const listForService = (serviceId: string) => services.get(serviceId).pipe(Effect.flatMap((s) => deployments.listForService(s.id)))

  /** Deploys the service (its own image, or `image` instead); audited as `deploy`. */
  const deploy = (caller: Caller, serviceId: string, image: string | undefined) =>
    authorizePull(caller, serviceId, image).pipe(
      Effect.zipRight(coordinator.deploy(serviceId, image)),
      Effect.tap((d) => audited(caller, "deploy", `service:${serviceId}`, { deployment: d.id, image: d.imageRef }))
    )

  /** `POST /v1/deployments`: the role is checked here since the path names no service. */
  const create = (caller: Caller, serviceId: string, image: string | undefined) =>
    Effect.gen(function*() {
      const service = yield* services.get(serviceId)
      yield* authz.requireProjectRole(caller.principal, service.projectId, "operator")
      return yield* deploy(caller, service.id, image)
    })

  const get = (id: string) => deployments.get(id)

  /** Stop, start, restart or roll back; audited under the action's name. */
  const action = (caller: Caller, serviceId: string, kind: ServiceAction) =>
    coordinator.action(serviceId, kind).pipe(
      Effect.tap((d) => audited(caller, kind, `service:${serviceId}`, d === undefined ? {} : { deployment: d.id }))
    )

  /** The deployment's log from byte `since`, followed until the deployment finishes (then its status as the last line). */
  const followLog = (deploymentId: string, since: number) =>
    Effect.map(deployments.get(deploymentId), (deployment) => {
      const finished = deployments.find(deployment.id).pipe(
        Effect.map((d) =>
          Option.flatMap(d, (x) =>
            TERMINAL_STATUSES.has(x.status)
              ? Option.some(JSON.stringify({ status: x.status, ...(x.error === undefined ? {} : { error: x.error }) }))
              : Option.none())
        ),
        // A failed read is logged and the log keeps following; the next poll asks again.
        Effect.catchTag("denia/db/DatabaseError", (e) =>
          Effect.logError("deployment log: reading the deployment's status failed", e).pipe(Effect.as(Option.none<string>())))
      )
      return followFile({
        path: deploymentLog.pathOf(deployment.id),
        since,
        finished,
        subscribe: (onAppend) =>
          deploymentLog.subscribe(deployment.id, onAppend)
      })
    })

  /** The last `lines` lines of the service's replica log. */
  const serviceLogLines = (serviceId: string, lines: number) =>
    Effect.gen(function*() {
      const service = yield* services.get(serviceId)
      const logs = yield* runtime.logs(runtimeServiceName(service.id), { lines })
      return logs.lines
    })

  /** The service's replica log, followed: a backlog of roughly the last `tail` lines (bytes estimate), then new output. */
  const followServiceLog = (serviceId: string, tail: number) =>
    Effect.gen(function*() {
      const service = yield* services.get(serviceId)
      const logs = yield* runtime.logs(runtimeServiceName(service.id), { lines: 1 })
      const size = yield* Effect.promise(() => fs.stat(logs.path).then((st) => st.size, () => 0))
      const since = Math.max(0, size - tail * 200)
      return followFile({ path: logs.path, since, finished: Effect.succeed(Option.none()) })
    })

  return { listForService, deploy, create, get, action, followLog, serviceLogLines, followServiceLog }
})

export type DeploymentsAppApi = Effect.Effect.Success<typeof make>

export class DeploymentsApp extends Context.Tag("denia/app/DeploymentsApp")<DeploymentsApp, DeploymentsAppApi>() {
  static readonly layer = Layer.effect(DeploymentsApp, make)
}
