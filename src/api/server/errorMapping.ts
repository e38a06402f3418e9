/**
 * Domain and subsystem failures → HTTP errors, in one place. `toApiError` is
 * one exhaustive `switch` over every error that can reach a handler: a new
 * error type in a handler is a compile error here (or in the handler's
 * signature), never an accidental 500. Infrastructure failures become an
 * opaque 500 whose body carries only an error id; the daemon log gets the id
 * with the cause.
 */
import { Cause, Effect, Option, Predicate } from "effect"
import { randomUUID } from "node:crypto"
import type { AuthError } from "../../auth/errors.js"
import type { UploadNotFound, UploadRejected, UploadStorageError } from "../../builder/errors.js"
import { DatabaseError } from "../../db/errors.js"
import type { ActionConflict } from "../../deploy/errors.js"
import type { Conflict, Invalid, NotFound } from "../../domain/errors.js"
import type { VerificationFailed } from "../../ingress/errors.js"
import type { OciStorageError } from "../../oci/errors.js"
import type { InvalidRuntimeName, RuntimeIoError } from "../../runtime/errors.js"
import type { InvalidSecretId, SecretStoreIoError } from "../../secrets/errors.js"
import type { ArchiveTooLarge, HostileArchive, VolumeInUse, VolumeIoError } from "../../volumes/errors.js"
import {
  type ApiError,
  BadRequest,
  ConflictError,
  Forbidden,
  InternalError,
  NotFoundError,
  PayloadTooLarge,
  TooManyRequests,
  Unauthorized,
  Unprocessable
} from "../definition/errors.js"

/** Failures of the daemon itself (storage, database, runtime I/O): always an opaque 500. */
export type InternalFailure =
  | DatabaseError
  | OciStorageError
  | RuntimeIoError
  | InvalidRuntimeName
  | SecretStoreIoError
  | InvalidSecretId
  | VolumeIoError
  | UploadStorageError

/** Every error a handler may fail with before it is mapped. */
export type HandlerError =
  | NotFound
  | Conflict
  | Invalid
  | AuthError
  | ActionConflict
  | VerificationFailed
  | VolumeInUse
  | HostileArchive
  | ArchiveTooLarge
  | UploadRejected
  | UploadNotFound
  | InternalFailure

/** The tags `mapDomainErrors` catches: keyed by tag, so the list cannot miss a member of `HandlerError`. */
const HANDLER_TAGS: { readonly [K in HandlerError["_tag"]]: true } = {
  "denia/domain/NotFound": true,
  "denia/domain/Conflict": true,
  "denia/domain/Invalid": true,
  "denia/auth/InvalidCredentials": true,
  "denia/auth/RateLimited": true,
  "denia/auth/RoleRequired": true,
  "denia/deploy/ActionConflict": true,
  "denia/ingress/VerificationFailed": true,
  "denia/db/DatabaseError": true,
  "denia/oci/OciStorageError": true,
  "denia/runtime/RuntimeIoError": true,
  "denia/runtime/InvalidRuntimeName": true,
  "denia/secrets/SecretStoreIoError": true,
  "denia/secrets/InvalidSecretId": true,
  "denia/volumes/VolumeInUse": true,
  "denia/volumes/HostileArchive": true,
  "denia/volumes/ArchiveTooLarge": true,
  "denia/volumes/VolumeIoError": true,
  "denia/builder/UploadRejected": true,
  "denia/builder/UploadNotFound": true,
  "denia/builder/UploadStorageError": true
}

const hasTagIn = (tags: object) => (e: unknown): boolean =>
  Predicate.hasProperty(e, "_tag") && typeof e._tag === "string" && Object.prototype.hasOwnProperty.call(tags, e._tag)

/** A SQL failure that reached the log as a defect (outside the repositories) is logged as the one `DatabaseError`, its cause inside. */
const asDatabaseError = (cause: Cause.Cause<unknown>): Cause.Cause<unknown> =>
  Option.match(Cause.dieOption(cause), {
    onNone: () => cause,
    onSome: (defect) => (Predicate.isTagged(defect, "SqlError") ? Cause.die(new DatabaseError({ cause: defect })) : cause)
  })

/** The `cause` fields of the failure (a few levels deep), appended so the log shows what was wrapped. */
const withWrappedCauses = (cause: Cause.Cause<unknown>): Cause.Cause<unknown> => {
  let out = cause
  let current: unknown = Option.getOrUndefined(Option.orElse(Cause.failureOption(cause), () => Cause.dieOption(cause)))
  for (let depth = 0; depth < 4 && Predicate.hasProperty(current, "cause") && current.cause !== undefined; depth++) {
    current = current.cause
    out = Cause.sequential(out, Cause.die(current))
  }
  return out
}

/**
 * An opaque 500: the body carries only a fresh error id; the log line carries
 * the same id with the full cause. Also used by the middleware for defects.
 */
export const internalError = (cause: Cause.Cause<unknown>): Effect.Effect<InternalError> => {
  const errorId = randomUUID()
  return Effect.logError("request failed", withWrappedCauses(asDatabaseError(cause))).pipe(
    Effect.annotateLogs({ errorId }),
    Effect.as(new InternalError({ code: "INTERNAL", message: "internal error", details: { errorId } }))
  )
}

export const authToApiError = (e: AuthError): Unauthorized | Forbidden | TooManyRequests => {
  switch (e._tag) {
    case "denia/auth/InvalidCredentials":
      return new Unauthorized({ code: "INVALID_CREDENTIALS", message: e.message })
    case "denia/auth/RoleRequired":
      return new Forbidden({ code: "FORBIDDEN", message: e.message })
    case "denia/auth/RateLimited":
      return new TooManyRequests({ code: "RATE_LIMITED", message: e.message, details: { retryAfterSeconds: e.retryAfterSeconds } })
  }
}

const notFound = (e: NotFound): NotFoundError => new NotFoundError({ code: "NOT_FOUND", message: e.message })

/** The one total map from handler errors to API errors. */
export const toApiError = (e: HandlerError): Effect.Effect<ApiError> => {
  switch (e._tag) {
    case "denia/domain/NotFound":
      return Effect.succeed(notFound(e))
    case "denia/domain/Conflict":
    case "denia/deploy/ActionConflict":
    case "denia/volumes/VolumeInUse":
      return Effect.succeed(new ConflictError({ code: "CONFLICT", message: e.message }))
    case "denia/domain/Invalid":
      return Effect.succeed(new BadRequest({ code: "INVALID_FIELD", message: `${e.field}: ${e.message}`, details: { field: e.field } }))
    case "denia/volumes/HostileArchive":
      return Effect.succeed(
        new BadRequest({ code: "HOSTILE_ARCHIVE", message: e.message, details: { rule: e.rule, entry: e.entry } })
      )
    case "denia/volumes/ArchiveTooLarge":
      return Effect.succeed(
        new PayloadTooLarge({ code: "ARCHIVE_TOO_LARGE", message: e.message, details: { limit: e.limit, entry: e.entry } })
      )
    case "denia/ingress/VerificationFailed":
      return Effect.succeed(
        new Unprocessable({ code: "VERIFICATION_FAILED", message: e.message, details: { hostname: e.hostname, reason: e.reason } })
      )
    case "denia/auth/InvalidCredentials":
    case "denia/auth/RoleRequired":
    case "denia/auth/RateLimited":
      return Effect.succeed(authToApiError(e))
    case "denia/builder/UploadRejected": {
      const body = { code: "UPLOAD_REJECTED", message: e.message, details: { rule: e.rule, entry: e.entry } }
      return Effect.succeed(e.status === 413 ? new PayloadTooLarge(body) : new BadRequest(body))
    }
    case "denia/builder/UploadNotFound":
      return Effect.succeed(new NotFoundError({ code: "NOT_FOUND", message: e.message }))
    case "denia/builder/UploadStorageError":
    case "denia/db/DatabaseError":
    case "denia/oci/OciStorageError":
    case "denia/runtime/RuntimeIoError":
    case "denia/runtime/InvalidRuntimeName":
    case "denia/secrets/SecretStoreIoError":
    case "denia/secrets/InvalidSecretId":
    case "denia/volumes/VolumeIoError":
      return internalError(Cause.fail(e))
  }
}

/** Pipe a handler's effect through this to expose its errors as HTTP errors. */
export const mapDomainErrors = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(
    effect,
    (e): e is Extract<E, HandlerError> => hasTagIn(HANDLER_TAGS)(e),
    (e) => Effect.flip(toApiError(e))
  )

type AuthorizationError = AuthError | NotFound

const AUTHORIZATION_TAGS: { readonly [K in AuthorizationError["_tag"]]: true } = {
  "denia/domain/NotFound": true,
  "denia/auth/InvalidCredentials": true,
  "denia/auth/RateLimited": true,
  "denia/auth/RoleRequired": true
}

/** For the authorization middleware, whose failures are only 401/403/404/429. */
export const mapAuthErrors = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(
    effect,
    (e): e is Extract<E, AuthorizationError> => hasTagIn(AUTHORIZATION_TAGS)(e),
    (e) => Effect.fail(e._tag === "denia/domain/NotFound" ? notFound(e) : authToApiError(e))
  )
