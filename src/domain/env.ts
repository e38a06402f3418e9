import { Schema } from "effect"

const EnvKey = Schema.String.pipe(
  Schema.filter((
    k
  ) => (k.length === 0
    ? "env keys must not be empty"
    : k.includes("=")
    ? `env key ${JSON.stringify(k)} must not contain '='`
    : k.includes("\0")
    ? "env keys must not contain NUL"
    : k.length > 256
    ? "env keys must be at most 256 characters"
    : true)
  )
)
const EnvValue = Schema.String.pipe(
  Schema.filter((
    v
  ) => (v.includes("\0") ? "env values must not contain NUL" : v.length > 32 * 1024 ? "env values must be at most 32 KiB" : true))
)

export const MAX_ENV_ENTRIES = 1024

/** Environment variables of a project or service. */
export const EnvMap = Schema.Record({ key: EnvKey, value: EnvValue })
  .pipe(Schema.filter((env) => (Object.keys(env).length <= MAX_ENV_ENTRIES ? true : `must have at most ${MAX_ENV_ENTRIES} variables`)))
  .annotations({ identifier: "EnvMap" })
export type EnvMap = typeof EnvMap.Type

/** Project shared env overlaid by service env (service wins). */
export const effectiveEnv = (projectEnv: EnvMap, serviceEnv: EnvMap): EnvMap => ({ ...projectEnv, ...serviceEnv })

export const REDACTED = "<redacted>"
export const redactEnv = (env: EnvMap): EnvMap => Object.fromEntries(Object.keys(env).map((k) => [k, REDACTED]))
