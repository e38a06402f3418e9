/** Domain and subsystem failures → HTTP errors, in one place. */
import { Effect, Predicate } from "effect"
import type { AuthError } from "../../auth/errors.js"
import type { Conflict, Invalid, NotFound } from "../../domain/errors.js"
import { BadRequest, ConflictError, Forbidden, NotFoundError, TooManyRequests, Unauthorized } from "../definition/errors.js"

export type DomainError = NotFound | Conflict | Invalid | AuthError

type ApiErrorOf = NotFoundError | ConflictError | BadRequest | Unauthorized | Forbidden | TooManyRequests

export const toApiError = (e: DomainError): ApiErrorOf => {
  switch (e._tag) {
    case "NotFound":
      return new NotFoundError({ code: "NOT_FOUND", message: e.message })
    case "Conflict":
      return new ConflictError({ code: "CONFLICT", message: e.message })
    case "Invalid":
      return new BadRequest({ code: "INVALID_FIELD", message: `${e.field}: ${e.message}`, details: { field: e.field } })
    default:
      return authToApiError(e)
  }
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

const AUTH_TAGS: ReadonlySet<string> = new Set<AuthError["_tag"]>(["denia/auth/InvalidCredentials", "denia/auth/RoleRequired", "denia/auth/RateLimited"])

/** For the authorization middleware, whose failures are only 401/403/404/429. */
export const mapAuthErrors = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(
    effect,
    (e): e is Extract<E, AuthError> => Predicate.hasProperty(e, "_tag") && typeof e._tag === "string" && AUTH_TAGS.has(e._tag),
    (e) => Effect.fail(authToApiError(e))
  )

const DOMAIN_TAGS: ReadonlySet<string> = new Set<string>(["NotFound", "Conflict", "Invalid", ...AUTH_TAGS])

const isDomainError = (e: unknown): e is DomainError => Predicate.hasProperty(e, "_tag") && typeof e._tag === "string" && DOMAIN_TAGS.has(e._tag)

/** Pipe a handler's effect through this to expose domain errors as HTTP errors. */
export const mapDomainErrors = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(effect, (e): e is Extract<E, DomainError> => isDomainError(e), (e) => Effect.fail(toApiError(e)))
