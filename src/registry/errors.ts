import { Schema } from "effect"

/** OCI distribution error codes (spec "error codes" table) plus the statuses Denia answers them with. */
export const OCI_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 415,
  TOOMANYREQUESTS: 429,
  /** Docker distribution's code for a bad `n` in tag/catalog listings. */
  PAGINATION_NUMBER_INVALID: 400,
  RANGE_INVALID: 416,
  UNKNOWN: 500
} as const

export type OciErrorCode = keyof typeof OCI_ERROR_STATUS

/**
 * A protocol-level failure of a /v2 request, rendered as
 * `{"errors":[{code,message,detail}]}` with its status code.
 */
export class DistributionError extends Schema.TaggedError<DistributionError>()("denia/registry/DistributionError", {
  code: Schema.String,
  message: Schema.String,
  detail: Schema.optional(Schema.Unknown),
  /** Overrides the code's default status (e.g. 405 for an unsupported method). */
  status: Schema.optional(Schema.Number)
}) {}

export const ociError = (code: OciErrorCode, message: string, detail?: unknown, status?: number): DistributionError =>
  new DistributionError({ code, message, ...(detail !== undefined ? { detail } : {}), ...(status !== undefined ? { status } : {}) })

export const statusOf = (e: DistributionError): number => e.status ?? (OCI_ERROR_STATUS as Record<string, number>)[e.code] ?? 500

/** A storage operation on the registry's data directory failed. */
export class RegistryStorageError extends Schema.TaggedError<RegistryStorageError>()("denia/registry/RegistryStorageError", {
  operation: Schema.String,
  message: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** Longest user-supplied string an error body repeats (digests, names, tags, paths). */
export const ERROR_VALUE_MAX = 256
/** Longest error message; most items of an array in `detail`. */
export const ERROR_MESSAGE_MAX = 1024
export const ERROR_ITEMS_MAX = 20

/** Shortens a string to `max` characters, marking the cut. */
export const clip = (s: string, max = ERROR_VALUE_MAX): string => (s.length <= max ? s : `${s.slice(0, max)}…(${s.length - max} more)`)

/**
 * An error `detail` bounded whatever the request carried: strings clipped,
 * arrays cut to their first items, nesting past three levels dropped.
 */
export const boundedDetail = (v: unknown, depth = 0): unknown => {
  if (typeof v === "string") return clip(v)
  if (typeof v !== "object" || v === null) return v
  if (depth >= 3) return null
  if (Array.isArray(v)) return v.slice(0, ERROR_ITEMS_MAX).map((x) => boundedDetail(x, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v).slice(0, ERROR_ITEMS_MAX)) out[clip(k, 64)] = boundedDetail(x, depth + 1)
  return out
}
