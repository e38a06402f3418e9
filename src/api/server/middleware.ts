/**
 * Request guards wrapped around the whole API app: JSON bodies need a
 * Content-Length (411) within the size cap (413),
 * malformed JSON (400), schema decode failures reshaped into the error
 * envelope with the offending field first (400), unknown routes (404), and
 * defects turned into an opaque 500 (the cause is logged, never sent).
 */
import { HttpApiError, HttpServerError, HttpServerRequest, HttpServerResponse, HttpIncomingMessage, type HttpApp } from "@effect/platform"
import { Cause, Effect, Option } from "effect"
import { BadRequest, InternalError, LengthRequired, NotFoundError, PayloadTooLarge, TooManyRequests, UnsupportedMediaType } from "../definition/errors.js"

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"])

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("")

const decodeErrorToBadRequest = (e: HttpApiError.HttpApiDecodeError): BadRequest => {
  const issues = e.issues.map((i) => ({ field: formatPath(i.path), message: i.message }))
  const first = issues[0]
  const message = first === undefined ? e.message : first.field === "" ? first.message : `${first.field}: ${first.message}`
  return new BadRequest({ code: "INVALID_REQUEST", message, details: { issues } })
}

/** Body encodings the API never accepts (the JSON decoder would misread them). */
const FORM_LIKE = /^(?:application\/x-www-form-urlencoded|multipart\/|text\/)/i

const isJsonLike = (contentType: string | undefined): boolean =>
  contentType === undefined || contentType === "" || /^application\/(?:[\w.+-]*\+)?json\b/i.test(contentType)

/** Reads and checks a JSON body before the router decodes it (the read is cached by the request). */
const guardJsonBody = (maxBytes: number) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (!BODY_METHODS.has(request.method) || !request.url.startsWith("/v1/")) return
    const contentType = request.headers["content-type"]
    if (contentType !== undefined && FORM_LIKE.test(contentType)) {
      return yield* new UnsupportedMediaType({ code: "UNSUPPORTED_MEDIA_TYPE", message: `Content-Type ${contentType.split(";")[0]} is not accepted; send application/json` })
    }
    if (!isJsonLike(contentType)) return
    const length = request.headers["content-length"]
    if (length === undefined) {
      if (request.headers["transfer-encoding"] === undefined) return
      // A JSON body of unknown length could only be refused by cutting the connection; ask for a length instead.
      return yield* new LengthRequired({ code: "LENGTH_REQUIRED", message: "JSON request bodies need a Content-Length header" })
    }
    const declared = Number(length)
    if (!Number.isFinite(declared) || declared > maxBytes) {
      return yield* new PayloadTooLarge({ code: "PAYLOAD_TOO_LARGE", message: `request body is larger than ${maxBytes} bytes` })
    }
    const text = yield* request.text.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(maxBytes)),
      Effect.mapError(() => new PayloadTooLarge({ code: "PAYLOAD_TOO_LARGE", message: `request body is larger than ${maxBytes} bytes` }))
    )
    if (text.trim() === "") return
    try {
      JSON.parse(text)
    } catch (e) {
      return yield* new BadRequest({ code: "MALFORMED_JSON", message: `request body is not valid JSON: ${(e as Error).message}` })
    }
  })

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
    if (e instanceof HttpApiError.HttpApiDecodeError) return Effect.fail(decodeErrorToBadRequest(e))
    if (HttpServerError.isServerError(e) && e._tag === "RouteNotFound") {
      return Effect.fail(new NotFoundError({ code: "NOT_FOUND", message: "no such route" }))
    }
    return Effect.failCause(cause as Cause.Cause<never>)
  }
  if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
  return Effect.logError("request failed with a defect", cause).pipe(
    Effect.zipRight(Effect.fail(new InternalError({ code: "INTERNAL", message: "internal error" })))
  )
}

export const apiRequestGuards =
  (options: { readonly maxJsonBodyBytes: number }) =>
  <R>(app: HttpApp.Default<never, R>) =>
    Effect.zipRight(guardJsonBody(options.maxJsonBodyBytes), app).pipe(Effect.catchAllCause(reshape))
