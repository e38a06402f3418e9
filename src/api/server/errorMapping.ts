/** Domain failures → HTTP errors, in one place. */
import { Effect } from "effect"
import type { Conflict, Invalid, NotFound } from "../../domain/errors.js"
import { BadRequest, ConflictError, NotFoundError } from "../definition/errors.js"

export type DomainError = NotFound | Conflict | Invalid

export const toApiError = (e: DomainError): NotFoundError | ConflictError | BadRequest => {
  switch (e._tag) {
    case "NotFound":
      return new NotFoundError({ code: "NOT_FOUND", message: e.message })
    case "Conflict":
      return new ConflictError({ code: "CONFLICT", message: e.message })
    case "Invalid":
      return new BadRequest({ code: "INVALID_FIELD", message: `${e.field}: ${e.message}`, details: { field: e.field } })
  }
}

/** Pipe a handler's effect through this to expose domain errors as HTTP errors. */
export const mapDomainErrors = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(
    effect,
    (e): e is Extract<E, DomainError> =>
      typeof e === "object" && e !== null && "_tag" in e && (e._tag === "NotFound" || e._tag === "Conflict" || e._tag === "Invalid"),
    (e) => Effect.fail(toApiError(e as DomainError))
  )
