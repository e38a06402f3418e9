import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import { AutoDeploy } from "../../../autodeploy/AutoDeploy.js"
import { DeniaConfig } from "../../../config/Config.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"
import { requestIp } from "../requestContext.js"

/** Where the forge should send deliveries: `control_domain` when set, else the host this request named. */
const publicOrigin = Effect.gen(function*() {
  const config = yield* DeniaConfig
  const v = config.values
  if (v.controlDomain !== "") return `${v.controlTls ? "https" : "http"}://${v.controlDomain}`
  const request = yield* HttpServerRequest.HttpServerRequest
  const host = request.headers.host
  return `http://${host !== undefined && /^[A-Za-z0-9.:[\]-]{1,300}$/.test(host) ? host : v.bindAddr}`
})

export const HooksHandlers = HttpApiBuilder.group(DeniaApi, "hooks", (handlers) =>
  Effect.gen(function*() {
    const autoDeploy = yield* AutoDeploy
    return handlers.handle("deliver", ({ path }) =>
      mapDomainErrors(Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        // the body guard read (and capped, and checked as JSON) this text already; the HMAC needs it verbatim
        const rawBody = yield* request.text.pipe(Effect.orElseSucceed(() => ""))
        const headers: Record<string, string | undefined> = {}
        for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v
        return yield* autoDeploy.hook({ serviceId: path.serviceId, secret: path.secret, headers, rawBody, clientIp: yield* requestIp })
      })))
  }))

export const GitHandlers = HttpApiBuilder.group(DeniaApi, "git", (handlers) =>
  Effect.gen(function*() {
    const autoDeploy = yield* AutoDeploy
    return handlers
      .handle("status", ({ path }) => mapDomainErrors(autoDeploy.status(path.id)))
      .handle("rotateHook", ({ path }) =>
        mapDomainErrors(Effect.gen(function*() {
          const secret = yield* autoDeploy.rotateSecret(path.id)
          const hookPath = `/v1/hooks/${path.id}/${secret}`
          return { url: `${yield* publicOrigin}${hookPath}`, path: hookPath, secret }
        })))
      .handle("check", ({ path }) => mapDomainErrors(autoDeploy.checkNow(path.id)))
      .handle("resetHostKey", ({ path }) => mapDomainErrors(autoDeploy.resetHostKey(path.id)))
  }))
