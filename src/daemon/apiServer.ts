import { HttpApiBuilder, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import { DeniaApi } from "../api/definition/DeniaApi.js"
import { AuthorizationLive } from "../api/server/authorization.js"
import { GitHandlers, HooksHandlers } from "../api/server/handlers/autodeploy.js"
import { DeploymentsHandlers } from "../api/server/handlers/deployments.js"
import {
  ApiTokensHandlers,
  AuditHandlers,
  AuthHandlers,
  AuthPublicHandlers,
  MembersHandlers,
  UsersHandlers
} from "../api/server/handlers/identity.js"
import { IngressHandlers } from "../api/server/handlers/ingress.js"
import { MetaHandlers } from "../api/server/handlers/meta.js"
import { OciHandlers } from "../api/server/handlers/oci.js"
import { ProjectsHandlers } from "../api/server/handlers/projects.js"
import { RegistriesHandlers } from "../api/server/handlers/registries.js"
import { RegistryHandlers } from "../api/server/handlers/registry.js"
import { SecretsHandlers } from "../api/server/handlers/secrets.js"
import { ServicesHandlers } from "../api/server/handlers/services.js"
import { UploadsHandlers } from "../api/server/handlers/uploads.js"
import { VolumesHandlers } from "../api/server/handlers/volumes.js"
import { apiRequestGuards } from "../api/server/middleware.js"
import { UploadRoutes } from "../api/server/uploadRoute.js"
import { DeniaConfig } from "../config/Config.js"
import { parseAddress } from "../config/fields.js"
import { hardenServer, type ServerLimits, serverOptions } from "../ingress/limits.js"
import { RegistryRoutes } from "../registry/http.js"
import { defaultConsoleRoot, WebConsoleRoutes } from "../web/console.js"

/** The API implementation: every handler group plus the authorization middleware. */
export const ApiImplementation = HttpApiBuilder.api(DeniaApi).pipe(
  Layer.provide([
    MetaHandlers,
    AuthPublicHandlers,
    AuthHandlers,
    ApiTokensHandlers,
    UsersHandlers,
    MembersHandlers,
    AuditHandlers,
    ProjectsHandlers,
    ServicesHandlers,
    VolumesHandlers,
    RegistriesHandlers,
    SecretsHandlers,
    DeploymentsHandlers,
    UploadsHandlers,
    OciHandlers,
    RegistryHandlers,
    IngressHandlers,
    HooksHandlers,
    GitHandlers
  ]),
  Layer.provide(AuthorizationLive)
)

const announce = Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  const config = yield* DeniaConfig
  const address = server.address
  const url = address._tag === "TcpAddress"
    ? `http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`
    : address.path
  yield* Effect.logInfo(`Denia API listening on ${url} (admin token: admin_token in ${config.paths.configFile})`)
})

/**
 * Listener limits of the API port, enforced by Node before any handler runs:
 * the header block within `api_header_timeout_seconds` (408), no traffic for
 * `api_idle_timeout_seconds` closes the connection (idle-based, so a registry
 * push of a large layer or a log stream that keeps moving is never cut; a
 * stalled one is, which interrupts its handler and frees e.g. its upload
 * session), and at most `api_max_connections` open connections.
 */
export const apiListenerLimits = (values: {
  readonly apiHeaderTimeoutSeconds: number
  readonly apiIdleTimeoutSeconds: number
}): ServerLimits => ({
  headersTimeoutMs: values.apiHeaderTimeoutSeconds * 1000,
  // no absolute request deadline: uploads and streams are bounded by the idle timeout instead
  requestTimeoutMs: 0,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: values.apiIdleTimeoutSeconds * 1000,
  maxHeaderBytes: 16 * 1024
})

const makeApiHttpServer = (values: Parameters<typeof apiListenerLimits>[0] & { readonly apiMaxConnections: number }) => () => {
  const limits = apiListenerLimits(values)
  const server = createServer(serverOptions(limits))
  hardenServer(server, limits)
  server.maxConnections = values.apiMaxConnections
  return server
}

/** HTTP server on `bind_addr` serving the API, the hosted registry (/v2) and the web console. */
export const ApiServerLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const config = yield* DeniaConfig
    const addr = parseAddress(config.values.bindAddr)
    const maxBodyBytes = config.values.apiBodyMaxKb * 1024
    return HttpApiBuilder.serve().pipe(
      Layer.provide(HttpApiBuilder.middleware(DeniaApi, apiRequestGuards({ maxBodyBytes }))),
      Layer.provide(Layer.mergeAll(ApiImplementation, RegistryRoutes, UploadRoutes, WebConsoleRoutes({ root: defaultConsoleRoot() }))),
      Layer.merge(Layer.effectDiscard(announce)),
      Layer.provideMerge(
        NodeHttpServer.layer(makeApiHttpServer(config.values), { host: addr?.host ?? "127.0.0.1", port: addr?.port ?? 7180 })
      )
    )
  })
)
