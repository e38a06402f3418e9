import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { DeploymentsApp } from "../../../app/DeploymentsApp.js"
import { UploadsApp } from "../../../app/UploadsApp.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"
import { currentCaller } from "../requestContext.js"

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
  Effect.gen(function*() {
    const app = yield* DeploymentsApp
    const uploads = yield* UploadsApp

    const runAction = (serviceId: string, action: "stop" | "start" | "restart" | "rollback") =>
      mapDomainErrors(
        Effect.flatMap(currentCaller, (caller) => app.action(caller, serviceId, action)).pipe(
          Effect.map((d) => ({ serviceId, action, deployment: d ?? null }))
        )
      )

    return handlers
      .handle("listForService", ({ path }) => mapDomainErrors(Effect.map(app.listForService(path.id), (items) => ({ items }))))
      .handle("deployService", ({ path, payload }) =>
        mapDomainErrors(Effect.flatMap(currentCaller, (caller) =>
          payload.uploadId === undefined
            ? app.deploy(caller, path.id, payload.image)
            : uploads.deployUpload(caller, path.id, payload.uploadId))))
      .handle("create", ({ payload }) =>
        mapDomainErrors(Effect.flatMap(currentCaller, (caller) => app.create(caller, payload.serviceId, payload.image))))
      .handle("get", ({ path }) =>
        mapDomainErrors(app.get(path.id)))
      .handle("logs", ({ path, urlParams }) =>
        mapDomainErrors(
          Effect.flatMap(resumeOffset(urlParams.since), (since) => app.followLog(path.id, since)).pipe(Effect.map(sse))
        ))
      .handle("stop", ({ path }) => runAction(path.id, "stop"))
      .handle("start", ({ path }) => runAction(path.id, "start"))
      .handle("restart", ({ path }) => runAction(path.id, "restart"))
      .handle("rollback", ({ path }) => runAction(path.id, "rollback"))
      .handle("serviceLogs", ({ path, urlParams }) =>
        mapDomainErrors(Effect.map(app.serviceLogLines(path.id, urlParams.tail ?? 100), (lines) => ({ lines }))))
      .handle("serviceLogStream", ({ path, urlParams }) =>
        mapDomainErrors(Effect.map(app.followServiceLog(path.id, urlParams.tail ?? 100), sse)))
  }))
