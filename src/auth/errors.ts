import { Schema } from "effect"

/** Wrong username or password (or an unknown user: the two are never told apart). */
export class InvalidCredentials extends Schema.TaggedError<InvalidCredentials>()("denia/auth/InvalidCredentials", {
  message: Schema.String
}) {}

/** A throttle bucket is full; the caller may retry after `retryAfterSeconds`. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("denia/auth/RateLimited", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {}

/** The principal lacks the project role an action needs. */
export class RoleRequired extends Schema.TaggedError<RoleRequired>()("denia/auth/RoleRequired", {
  role: Schema.String,
  message: Schema.String
}) {}

export type AuthError = InvalidCredentials | RateLimited | RoleRequired
