/**
 * The request-body gate in front of every route outside `/v2` (the hosted
 * registry streams its own bodies) and the volume restore route
 * (`PUT /v1/services/{id}/volumes/{name}/archive`, a streamed tar): runs before routing, authentication and
 * any parsing, whatever the content type.
 *
 * - a body without a Content-Length (chunked) → 411;
 * - a declared length past the cap → 413 at once, nothing read;
 * - a body on a body method must be `application/json` (parameters allowed)
 *   → 415 otherwise, nothing read;
 * - `POST /v1/services/{id}/uploads` (build contexts) passes untouched: that route streams its body to
 *   disk with its own caps (uploadRoute.ts); every other method and path stays behind this gate;
 * - the body is read with the cap as the stream limit (never more buffered),
 *   then must be non-blank (400), valid JSON (400) nested at most
 *   {@link MAX_JSON_DEPTH} levels (400). The read is cached by the request,
 *   so the route's decoder reuses the text.
 */
import { HttpIncomingMessage, HttpServerRequest } from "@effect/platform"
import { Effect, Option } from "effect"
import { BadRequest, LengthRequired, PayloadTooLarge, UnsupportedMediaType } from "../definition/errors.js"
import { isVolumeArchivePath } from "../definition/groups/volumes.js"

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"])

/** Deepest array/object nesting a request body may have. */
export const MAX_JSON_DEPTH = 64

/** `application/json`, optionally with parameters (`; charset=utf-8`); nothing else (no `+json`, no `jsonx`). */
export const isJsonContentType = (contentType: string): boolean => /^\s*application\/json\s*(?:;.*)?$/is.test(contentType)

/** Paths whose bodies the hosted registry reads itself (streamed blob uploads). */
const isRegistryPath = (url: string): boolean => url === "/v2" || url.startsWith("/v2/") || url.startsWith("/v2?")

/** The one `/v1` route that streams a non-JSON body itself (uploadRoute.ts). */
const isUploadRoute = (method: string, url: string): boolean =>
  method === "POST" && /^\/v1\/services\/[^/?#]+\/uploads(?:\?[^#]*)?$/.test(url)

/**
 * Depth of the deepest array/object in a JSON text, scanning characters
 * (strings skipped); stops early once past `limit`. Runs before `JSON.parse`,
 * so no deep structure is ever built.
 */
export const jsonDepthExceeds = (text: string, limit: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
      continue
    }
    if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      depth++
      if (depth > limit) return true
    } else if (c === 125 || c === 93) depth--
  }
  return false
}

const tooLarge = (maxBytes: number) =>
  new PayloadTooLarge({ code: "PAYLOAD_TOO_LARGE", message: `body: request body is larger than ${maxBytes} bytes` })

export const guardRequestBody = (maxBytes: number) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    // The registry streams its own bodies; uploads and a volume restore stream theirs under their own caps.
    if (isRegistryPath(request.url) || isUploadRoute(request.method, request.url) || isVolumeArchivePath(request.method, request.url)) {
      return
    }
    const headers = request.headers
    const length = headers["content-length"]
    if (length === undefined) {
      if (headers["transfer-encoding"] === undefined) return
      // A body of unknown length could only be refused by cutting the connection; ask for a length instead.
      return yield* new LengthRequired({
        code: "LENGTH_REQUIRED",
        message: "body: request bodies need a Content-Length header (no chunked encoding)"
      })
    }
    const declared = Number(length)
    if (!Number.isSafeInteger(declared) || declared < 0 || declared > maxBytes) return yield* tooLarge(maxBytes)
    if (!BODY_METHODS.has(request.method)) return
    const contentType = headers["content-type"]
    if (declared === 0 && contentType === undefined) return
    if (contentType === undefined || !isJsonContentType(contentType)) {
      const given = contentType === undefined ? "no Content-Type" : `Content-Type ${contentType.split(";")[0]?.trim()}`
      return yield* new UnsupportedMediaType({
        code: "UNSUPPORTED_MEDIA_TYPE",
        message: `content-type: ${given} is not accepted; send application/json`
      })
    }
    if (declared === 0) return
    const text = yield* request.text.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(maxBytes)),
      Effect.mapError(() => tooLarge(maxBytes))
    )
    if (text.trim() === "") {
      return yield* new BadRequest({ code: "MALFORMED_JSON", message: "body: request body is blank; send a JSON value" })
    }
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      return yield* new BadRequest({ code: "MALFORMED_JSON", message: `body: JSON is nested deeper than ${MAX_JSON_DEPTH} levels` })
    }
    yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) =>
        new BadRequest({
          code: "MALFORMED_JSON",
          message: `body: request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`
        })
    })
  })
