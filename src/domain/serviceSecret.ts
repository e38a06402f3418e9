/**
 * Service secret env vars: request and response schemas (pure, used by the
 * API definition). Values appear only in `SetServiceSecret`; messages never
 * echo them.
 */
import { Schema } from "effect"

export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/
export const MAX_SECRET_VALUE = 32 * 1024

/** An environment variable name: letters, digits and `_`, not starting with a digit, at most 256 characters. */
export const SecretName = Schema.String.annotations({ message: () => "must be a string" }).pipe(
  Schema.pattern(SECRET_NAME_PATTERN, {
    message: () => "must be an environment variable name: 1-256 characters of A-Z, a-z, 0-9 and '_', not starting with a digit"
  })
).annotations({ identifier: "SecretName" })

export const SecretValue = Schema.String.annotations({ message: () => "must be a string" }).pipe(
  Schema.filter((v) =>
    v.includes("\0") ? "must not contain NUL" : v.length > MAX_SECRET_VALUE ? `must be at most ${MAX_SECRET_VALUE} characters` : true
  )
)

export const SetServiceSecret = Schema.Struct({ name: SecretName, value: SecretValue }).annotations({
  identifier: "SetServiceSecret",
  parseOptions: { onExcessProperty: "error" }
})
export type SetServiceSecret = typeof SetServiceSecret.Type

/** What the API says about a secret: its name and when it last changed. Never the value. */
export const ServiceSecretInfo = Schema.Struct({ name: Schema.String, updatedAt: Schema.String }).annotations({
  identifier: "ServiceSecretInfo"
})
export type ServiceSecretInfo = typeof ServiceSecretInfo.Type
