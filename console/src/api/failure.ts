/**
 * One readable shape for every way an API call can fail: the API's error
 * envelope (`{error:{code,message,details}}`, decoded by the typed client into
 * tagged errors), a payload the client-side schema refused before sending, a
 * response that did not match the schema, or a network failure.
 */
import { ParseResult } from "effect"

export interface FieldIssue {
  /** Dotted field path (`source.image`, `limits.cpuMillis`, `env["A=B"]`); "" for the whole body. */
  readonly field: string
  readonly message: string
}

export class ApiFailure extends Error {
  override readonly name = "ApiFailure"
  constructor(
    /** HTTP status, or 0 when no response was read (network, client-side validation). */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: ReadonlyArray<FieldIssue> = []
  ) {
    super(message)
  }
}

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("")

/** Splits `"field.path: message"` (the API's convention for 400s) into its parts. */
export const splitFieldMessage = (message: string): FieldIssue => {
  const m = /^([A-Za-z_$][\w$]*(?:(?:\.[A-Za-z_$][\w$]*)|(?:\[\d+\]))*): (.+)$/s.exec(message)
  return m === null ? { field: "", message } : { field: m[1] ?? "", message: m[2] ?? message }
}

const STATUS_BY_TAG: Readonly<Record<string, number>> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFoundError: 404,
  ConflictError: 409,
  LengthRequired: 411,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Unprocessable: 422,
  TooManyRequests: 429,
  InternalError: 500
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const issuesFromDetails = (details: unknown): ReadonlyArray<FieldIssue> => {
  if (!isRecord(details) || !Array.isArray(details["issues"])) return []
  const out: Array<FieldIssue> = []
  for (const i of details["issues"]) {
    if (isRecord(i) && typeof i["field"] === "string" && typeof i["message"] === "string") {
      out.push({ field: i["field"], message: i["message"] })
    }
  }
  return out
}

/**
 * Union members each report their own refusal: `NullOr(Autoscale)` says both
 * "minReplicas must not exceed maxReplicas" (at `autoscale.minReplicas`) and
 * "Expected null" (at `autoscale`). The deeper issue is the useful one.
 */
const mostSpecific = (issues: ReadonlyArray<FieldIssue>): ReadonlyArray<FieldIssue> =>
  issues.filter((i) =>
    !issues.some((o) =>
      o !== i && o.field !== i.field && (i.field === "" || o.field.startsWith(`${i.field}.`) || o.field.startsWith(`${i.field}[`))
    )
  )

/** Turns whatever an API call failed with into an `ApiFailure`. */
export const toApiFailure = (error: unknown): ApiFailure => {
  if (error instanceof ApiFailure) return error
  if (isRecord(error) && typeof error["_tag"] === "string") {
    const tag = error["_tag"]
    const status = STATUS_BY_TAG[tag]
    if (status !== undefined && typeof error["code"] === "string" && typeof error["message"] === "string") {
      const fromDetails = issuesFromDetails(error["details"])
      const issues = fromDetails.length > 0 ? fromDetails : status === 400 ? [splitFieldMessage(error["message"])] : []
      return new ApiFailure(status, error["code"], error["message"], issues)
    }
    if (tag === "ParseError" && error instanceof ParseResult.ParseError) {
      // The typed client encodes the payload with the API schema before sending it.
      const issues = mostSpecific(
        ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => ({ field: formatPath(i.path), message: i.message }))
      )
      const first = issues[0]
      const message = first === undefined ? "invalid input" : first.field === "" ? first.message : `${first.field}: ${first.message}`
      return new ApiFailure(0, "INVALID_INPUT", message, issues)
    }
    if (tag === "RequestError") return new ApiFailure(0, "NETWORK", "The daemon could not be reached. Check that it is running.")
    if (tag === "ResponseError") {
      const response = error["response"]
      const status = isRecord(response) && typeof response["status"] === "number" ? response["status"] : 0
      return new ApiFailure(status, "UNEXPECTED_RESPONSE", `The daemon sent an unexpected response (HTTP ${status}).`)
    }
    if (tag === "HttpApiDecodeError") {
      return new ApiFailure(0, "UNEXPECTED_RESPONSE", "The daemon sent a response this console does not understand.")
    }
  }
  return new ApiFailure(0, "UNKNOWN", error instanceof Error ? error.message : "Something went wrong.")
}

/** An error response read by hand (streams): the API's envelope when present. */
export const fromEnvelope = (status: number, body: unknown): ApiFailure => {
  const error = isRecord(body) && isRecord(body["error"]) ? body["error"] : undefined
  const code = typeof error?.["code"] === "string" ? error["code"] : "HTTP_" + String(status)
  const message = typeof error?.["message"] === "string" ? error["message"] : `The daemon answered HTTP ${status}.`
  return new ApiFailure(status, code, message, issuesFromDetails(error?.["details"]))
}

/** Issues keyed by field path; the first message per field wins. */
export const issuesByField = (failure: ApiFailure | undefined): Readonly<Record<string, string>> => {
  const out: Record<string, string> = {}
  for (const i of failure?.issues ?? []) if (out[i.field] === undefined) out[i.field] = i.message
  return out
}
