/**
 * Why an exchange with a replica failed, in words an operator can act on
 * (ADR 0502): every 502/503/504 the ingress answers carries one of these
 * kinds, is counted per service and shows in `GET /v1/services/{id}/requests`.
 */
import { UpstreamHeadError } from "./upstreamSocket.js"

export const UPSTREAM_ERROR_KINDS = ["parseError", "reset", "timeout", "connectFailed", "noHealthyReplica"] as const
export type UpstreamErrorKind = (typeof UPSTREAM_ERROR_KINDS)[number]

export interface UpstreamFailure {
  readonly kind: UpstreamErrorKind
  readonly status: 502 | 503 | 504
  /** E.g. `upstream parse error: bare CR in the response head`, `upstream reset: other side closed`. */
  readonly reason: string
}

const codeOf = (err: Error): string | undefined => {
  const code: unknown = "code" in err ? err.code : undefined
  return typeof code === "string" ? code : undefined
}

const CONNECT_CODES = new Set(["ECONNREFUSED", "ENOENT", "EACCES", "EAGAIN", "ENOTSOCK", "UND_ERR_CONNECT_TIMEOUT"])
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_RES_CONTENT_LENGTH_MISMATCH", "ECONNABORTED"])

/** Undici's parser messages wrap llhttp's reason in parentheses; keep the reason. */
const parserReason = (message: string): string => {
  const m = /\(([^()]+)\)\s*$/.exec(message)
  return m?.[1] ?? message
}

export const timeoutFailure = (ms: number): UpstreamFailure => ({
  kind: "timeout",
  status: 504,
  reason: `upstream timeout: no answer within ${Math.round(ms / 1000)} s`
})

export const noHealthyReplica: UpstreamFailure = { kind: "noHealthyReplica", status: 503, reason: "no healthy replica" }

/** Classifies an error from either upstream client (undici or node:http). */
export const classifyUpstreamError = (err: Error, timeoutMs: number): UpstreamFailure => {
  if (err instanceof UpstreamHeadError) return { kind: "parseError", status: 502, reason: err.message }
  const code = codeOf(err)
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || err.message === "upstream timeout") {
    return timeoutFailure(timeoutMs)
  }
  if (err.name === "HTTPParserError" || code?.startsWith("HPE_") === true) {
    return { kind: "parseError", status: 502, reason: `upstream parse error: ${parserReason(err.message)}` }
  }
  if (code === "UND_ERR_HEADERS_OVERFLOW") {
    return { kind: "parseError", status: 502, reason: "upstream parse error: response head too large" }
  }
  if (code !== undefined && CONNECT_CODES.has(code)) {
    return { kind: "connectFailed", status: 502, reason: `upstream connect failed: ${code}` }
  }
  if (code !== undefined && RESET_CODES.has(code)) {
    return { kind: "reset", status: 502, reason: `upstream reset: ${err.message === "" ? code : err.message}` }
  }
  return { kind: "reset", status: 502, reason: `upstream reset: ${err.message === "" ? err.name : err.message}` }
}
