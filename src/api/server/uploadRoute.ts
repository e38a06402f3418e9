/**
 * `POST /v1/services/{id}/uploads[?deploy=true]`: a build context (gzip- or zstd-compressed tar, or a
 * plain tar sent as `application/x-tar`, ADR 0820) streamed
 * to the upload store. A raw route beside the HttpApi (like `/v2`): the general body gate
 * (bodyGuard.ts) lets exactly this path through and the route applies its own caps while it streams —
 * `upload_max_mb` on a compressed body, the unpacked cap on a plain tar (declared length refused at once, chunked bodies counted as they arrive),
 * the archive caps and rules per entry (builder/uploads). Bearer authentication like `/v1`; Operator on
 * the service's project. 201 with `{ upload, deployment? }`; errors in the API's envelope, statuses from
 * errorMapping.ts.
 */
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Cause, Effect, Option } from "effect"
import type { ServerResponse } from "node:http"
import type { UploadOutcome } from "../../app/UploadsApp.js"
import { UploadsApp } from "../../app/UploadsApp.js"
import { clientIp, proxyTrust } from "../../auth/clientIp.js"
import { PrincipalResolver } from "../../auth/PrincipalResolver.js"
import { ADMIN_TOKEN_LIMIT, Throttle } from "../../auth/Throttle.js"
import { declaresPlainTar } from "../../builder/uploads/archive.js"
import type { ApiError } from "../definition/errors.js"
import { BadRequest, Unauthorized } from "../definition/errors.js"
import { authToApiError, type HandlerError, internalError, toApiError } from "./errorMapping.js"

export const UPLOAD_PATH = /^\/v1\/services\/([^/?#]+)\/uploads(?:\?[^#]*)?$/

const STATUS: { readonly [K in ApiError["_tag"]]: number } = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFoundError: 404,
  ConflictError: 409,
  PayloadTooLarge: 413,
  LengthRequired: 411,
  UnsupportedMediaType: 415,
  Unprocessable: 422,
  TooManyRequests: 429,
  InternalError: 500
}

const HEADERS = { "content-type": "application/json", "cache-control": "no-store", "x-content-type-options": "nosniff" }

const write = (res: ServerResponse, status: number, body: unknown, close: boolean) =>
  Effect.async<void>((resume) => {
    if (res.headersSent) {
      res.destroy()
      return resume(Effect.void)
    }
    const text = JSON.stringify(body)
    res.writeHead(status, { ...HEADERS, "content-length": String(Buffer.byteLength(text)), ...(close ? { connection: "close" } : {}) })
    res.end(text, () => resume(Effect.void))
  })

const sendError = (res: ServerResponse, e: ApiError, bodyUnread: boolean) =>
  write(
    res,
    STATUS[e._tag],
    { error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) } },
    bodyUnread
  )

const bearer = (header: string | undefined): string | undefined => {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")
  return m?.[1]
}

const HANDLED = new Set<string>([
  "denia/domain/NotFound",
  "denia/domain/Conflict",
  "denia/domain/Invalid",
  "denia/auth/InvalidCredentials",
  "denia/auth/RateLimited",
  "denia/auth/RoleRequired",
  "denia/deploy/ActionConflict",
  "denia/builder/UploadRejected",
  "denia/builder/UploadNotFound",
  "denia/builder/UploadStorageError",
  "denia/db/DatabaseError"
])

const isHandlerError = (e: unknown): e is HandlerError =>
  typeof e === "object" && e !== null && "_tag" in e && typeof e._tag === "string" && HANDLED.has(e._tag)

export const UploadRoutes = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function*() {
    const app = yield* UploadsApp
    const resolver = yield* PrincipalResolver
    const throttle = yield* Throttle
    const trust = yield* proxyTrust

    const handle = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const req = NodeHttpServerRequest.toIncomingMessage(request)
      const res = NodeHttpServerRequest.toServerResponse(request)
      const url = new URL(req.url ?? "/", "http://api.invalid")
      const serviceId = decodeURIComponent(UPLOAD_PATH.exec(req.url ?? "")?.[1] ?? "")
      const deploy = url.searchParams.get("deploy") === "true" || url.searchParams.get("deploy") === "1"
      const lengthHeader = req.headers["content-length"]
      const declared = lengthHeader === undefined ? undefined : Number(lengthHeader)
      const run = Effect.gen(function*() {
        const token = bearer(req.headers["authorization"])
        const principal = token === undefined ? Option.none() : yield* resolver.resolve(token)
        if (Option.isNone(principal)) {
          return yield* new Unauthorized({ code: "UNAUTHORIZED", message: "missing or invalid bearer token" })
        }
        if (principal.value.kind === "adminToken") {
          yield* throttle.hit("admin-token", clientIp(request, trust), ADMIN_TOKEN_LIMIT.limit, ADMIN_TOKEN_LIMIT.windowMs)
        }
        if (declared !== undefined && (!Number.isSafeInteger(declared) || declared < 0)) {
          return yield* new BadRequest({ code: "INVALID_REQUEST", message: "content-length: not a byte count" })
        }
        const caller = { principal: principal.value, clientIp: clientIp(request, trust) }
        return yield* app.upload(caller, serviceId, req, declared, deploy, declaresPlainTar(req.headers["content-type"]))
      })
      const outcome = yield* run.pipe(
        Effect.map((o): { ok: UploadOutcome } | { error: ApiError } => ({ ok: o })),
        Effect.catchAll((e) =>
          e instanceof Unauthorized || e instanceof BadRequest
            ? Effect.succeed({ error: e })
            : isHandlerError(e)
            ? Effect.map(
              e._tag === "denia/auth/RateLimited" ? Effect.succeed(authToApiError(e)) : toApiError(e),
              (error) => ({ error })
            )
            : Effect.map(internalError(Cause.fail(e)), (error) => ({ error }))
        ),
        Effect.catchAllDefect((d) => Effect.map(internalError(Cause.die(d)), (error) => ({ error })))
      )
      if ("ok" in outcome) {
        yield* write(res, 201, {
          upload: outcome.ok.upload,
          ...(outcome.ok.deployment === undefined ? {} : { deployment: outcome.ok.deployment })
          // a body the helper took from the socket (ADR 0904): Node's parser never saw its end
        }, !req.complete)
      } else {
        // an unread body is dropped with the connection rather than drained
        yield* sendError(res, outcome.error, !req.readableEnded)
      }
      return HttpServerResponse.empty()
    })
    yield* router.post("/v1/services/:id/uploads", handle)
  })
)
