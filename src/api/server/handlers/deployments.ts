import * as fs from "node:fs/promises"
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option } from "effect"
import { Authz } from "../../../auth/Authz.js"
import { TERMINAL_STATUSES } from "../../../domain/deployment.js"
import { Coordinator } from "../../../deploy/Coordinator.js"
import { makeImageAuthorization } from "../../../deploy/imageAuthorization.js"
import { validateImageReference } from "../../../domain/service.js"
import { ProjectsRepo } from "../../../repos/ProjectsRepo.js"
import { DeploymentLog } from "../../../deploy/DeploymentLog.js"
import { followFile } from "../../../deploy/followFile.js"
import { runtimeServiceName } from "../../../deploy/runtimeNames.js"
import { AuditRepo } from "../../../repos/AuditRepo.js"
import { DeploymentsRepo } from "../../../repos/DeploymentsRepo.js"
import { ServicesRepo } from "../../../repos/ServicesRepo.js"
import { Runtime } from "../../../runtime/index.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"
import { auditContext } from "../requestContext.js"
import { CurrentPrincipal } from "../../definition/security.js"

const sse = (stream: Parameters<typeof HttpServerResponse.stream>[0]) =>
  HttpServerResponse.stream(stream, {
    contentType: "text/event-stream",
    headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
  })

/** `Last-Event-ID` (a byte offset) resumes like `?since=`. */
const resumeOffset = (since: number | undefined) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (r) => {
    const header = Number(r.headers["last-event-id"])
    return since ?? (Number.isInteger(header) && header >= 0 ? header : 0)
  })

export const DeploymentsHandlers = HttpApiBuilder.group(DeniaApi, "deployments", (handlers) =>
  Effect.gen(function* () {
    const deployments = yield* DeploymentsRepo
    const services = yield* ServicesRepo
    const coordinator = yield* Coordinator
    const deploymentLog = yield* DeploymentLog
    const runtime = yield* Runtime
    const audit = yield* AuditRepo
    const authz = yield* Authz
    const projects = yield* ProjectsRepo
    const images = yield* makeImageAuthorization

    const audited = (action: string, target: string, details: Record<string, string>) =>
      Effect.flatMap(auditContext, (ctx) => audit.record({ ...ctx, action, target, outcome: "ok", details }))

    /**
     * The override is checked like a service image (grammar, no control
     * characters), then what will be pulled is authorized for the caller.
     */
    const authorizePull = (serviceId: string, image: string | undefined) =>
      Effect.gen(function* () {
        if (image !== undefined) yield* validateImageReference("image", image)
        const service = yield* services.get(serviceId)
        const project = yield* projects.get(service.projectId)
        yield* images.authorizeDeploy(yield* CurrentPrincipal, service, project, image)
      })

    const deploy = (serviceId: string, image: string | undefined) =>
      mapDomainErrors(
        authorizePull(serviceId, image).pipe(
          Effect.zipRight(coordinator.deploy(serviceId, image)),
          Effect.tap((d) => audited("deploy", `service:${serviceId}`, { deployment: d.id, image: d.imageRef }))
        )
      )

    const runAction = (serviceId: string, action: "stop" | "start" | "restart" | "rollback") =>
      mapDomainErrors(
        coordinator.action(serviceId, action).pipe(
          Effect.tap((d) => audited(action, `service:${serviceId}`, d === undefined ? {} : { deployment: d.id })),
          Effect.map((d) => ({ serviceId, action, deployment: d ?? null }))
        )
      )

    return handlers
      .handle("listForService", ({ path }) =>
        mapDomainErrors(
          services.get(path.id).pipe(
            Effect.flatMap((s) => deployments.listForService(s.id)),
            Effect.map((items) => ({ items }))
          )
        )
      )
      .handle("deployService", ({ path, payload }) => deploy(path.id, payload.image))
      .handle("create", ({ payload }) =>
        mapDomainErrors(
          Effect.gen(function* () {
            const service = yield* services.get(payload.serviceId)
            yield* authz.requireProjectRole(yield* CurrentPrincipal, service.projectId, "operator")
            return yield* deploy(service.id, payload.image)
          })
        )
      )
      .handle("get", ({ path }) => mapDomainErrors(deployments.get(path.id)))
      .handle("logs", ({ path, urlParams }) =>
        mapDomainErrors(
          Effect.gen(function* () {
            const deployment = yield* deployments.get(path.id)
            const since = yield* resumeOffset(urlParams.since)
            const finished = deployments.find(deployment.id).pipe(
              Effect.map((d) =>
                Option.flatMap(d, (x) =>
                  TERMINAL_STATUSES.has(x.status) ? Option.some(JSON.stringify({ status: x.status, ...(x.error === undefined ? {} : { error: x.error }) })) : Option.none()
                )
              )
            )
            return sse(followFile({ path: deploymentLog.pathOf(deployment.id), since, finished }))
          })
        )
      )
      .handle("stop", ({ path }) => runAction(path.id, "stop"))
      .handle("start", ({ path }) => runAction(path.id, "start"))
      .handle("restart", ({ path }) => runAction(path.id, "restart"))
      .handle("rollback", ({ path }) => runAction(path.id, "rollback"))
      .handle("serviceLogs", ({ path, urlParams }) =>
        mapDomainErrors(
          Effect.gen(function* () {
            const service = yield* services.get(path.id)
            const logs = yield* runtime.logs(runtimeServiceName(service.id), { lines: urlParams.tail ?? 100 })
            return { lines: logs.lines }
          })
        )
      )
      .handle("serviceLogStream", ({ path, urlParams }) =>
        mapDomainErrors(
          Effect.gen(function* () {
            const service = yield* services.get(path.id)
            const logs = yield* runtime.logs(runtimeServiceName(service.id), { lines: 1 })
            const size = yield* Effect.promise(() => fs.stat(logs.path).then((st) => st.size, () => 0))
            // backlog: roughly the last `tail` lines (bytes estimate), then follow
            const since = Math.max(0, size - (urlParams.tail ?? 100) * 200)
            return sse(followFile({ path: logs.path, since, finished: Effect.succeed(Option.none()) }))
          })
        )
      )
  })
)
