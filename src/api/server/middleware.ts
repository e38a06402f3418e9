/**
 * Request guards wrapped around the whole API app: the body gate
 * (`bodyGuard.ts`: 411, 413, 415, blank/malformed/too-deep JSON → 400),
 * no-store/nosniff on `/v1` and `/v2` answers, schema decode failures reshaped into the error
 * envelope with the offending field first (400), unknown routes (404), and
 * defects turned into an opaque 500 (`internalError` in errorMapping.ts: the
 * body carries an error id, the log carries the id with the cause).
 */
import { HttpApiError, HttpApp, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Cause, Effect, Option } from "effect"
import { BadRequest, type InternalError, LengthRequired, NotFoundError, PayloadTooLarge, TooManyRequests } from "../definition/errors.js"
import { guardRequestBody } from "./bodyGuard.js"
import { internalError } from "./errorMapping.js"

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("")

const decodeErrorToBadRequest = (e: HttpApiError.HttpApiDecodeError): BadRequest => {
  const issues = e.issues.map((i) => ({ field: formatPath(i.path), message: i.message }))
  const first = issues[0]
  const message = first === undefined ? e.message : first.field === "" ? first.message : `${first.field}: ${first.message}`
  return new BadRequest({ code: "INVALID_REQUEST", message, details: { issues } })
}

/**
 * 411 and 413 are answered before the body is read: the response closes the
 * connection so the unread body is dropped with it instead of being drained.
 */
const refusedBody = (e: PayloadTooLarge | LengthRequired) =>
  HttpServerResponse.json(
    { error: { code: e.code, message: e.message } },
    { status: e instanceof PayloadTooLarge ? 413 : 411, headers: { connection: "close" } }
  ).pipe(Effect.orDie)

/** 429 carries `Retry-After`, which the schema-encoded error path cannot set. */
const tooManyRequests = (e: TooManyRequests) => {
  const details = e.details as { retryAfterSeconds?: unknown } | undefined
  const retryAfter = typeof details?.retryAfterSeconds === "number" ? details.retryAfterSeconds : 60
  return HttpServerResponse.json(
    { error: { code: e.code, message: e.message, details: e.details } },
    { status: 429, headers: { "retry-after": String(retryAfter) } }
  ).pipe(Effect.orDie)
}

const reshape = (
  cause: Cause.Cause<unknown>
): Effect.Effect<HttpServerResponse.HttpServerResponse, BadRequest | NotFoundError | InternalError> => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value
    if (e instanceof TooManyRequests) return tooManyRequests(e)
    if (e instanceof PayloadTooLarge || e instanceof LengthRequired) return refusedBody(e)
    if (e instanceof HttpApiError.HttpApiDecodeError) return Effect.fail(decodeErrorToBadRequest(e))
    if (HttpServerError.isServerError(e) && e._tag === "RouteNotFound") {
      return Effect.fail(new NotFoundError({ code: "NOT_FOUND", message: "no such route" }))
    }
    return Effect.failCause(cause as Cause.Cause<never>)
  }
  if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
  return Effect.flip(internalError(cause))
}

const isApiPath = (url: string): boolean => /^\/v1(?:[/?]|$)/.test(url)

export const SAFE_API_HEADERS = { "x-content-type-options": "nosniff", "cache-control": "no-store" } as const

/**
 * `/v1` and `/v2` answers (errors included) are never sniffed or cached: sessions, tokens and
 * secrets pass through them. A handler that sets its own `Cache-Control` (SSE) keeps it.
 * `/v1` through a pre-response handler (it also reaches responses rendered from failures);
 * `/v2` writes on the Node response itself, so the defaults go there before it runs.
 */
const apiResponseHeaders: Effect.Effect<void, never, HttpServerRequest.HttpServerRequest> = Effect.flatMap(
  HttpServerRequest.HttpServerRequest,
  (request) => {
    if (/^\/v2(?:[/?]|$)/.test(request.url)) {
      return Effect.sync(() => {
        const res = NodeHttpServerRequest.toServerResponse(request)
        for (const [name, value] of Object.entries(SAFE_API_HEADERS)) res.setHeader(name, value)
      })
    }
    if (!isApiPath(request.url)) return Effect.void
    return HttpApp.appendPreResponseHandler((_request, response) =>
      Effect.succeed(
        HttpServerResponse.setHeaders(response, { ...SAFE_API_HEADERS, "cache-control": response.headers["cache-control"] ?? "no-store" })
      )
    )
  }
)

export const apiRequestGuards = (options: { readonly maxBodyBytes: number }) => <R>(app: HttpApp.Default<never, R>) =>
  apiResponseHeaders.pipe(Effect.zipRight(guardRequestBody(options.maxBodyBytes)), Effect.zipRight(app), Effect.catchAllCause(reshape))
