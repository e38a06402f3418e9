import { Effect } from "effect"
import { InvalidRuntimeName } from "./errors.js"
import type { ReplicaRef } from "./types.js"

/** DNS-label-like: `[a-z0-9-]`, 1–63 chars, no leading/trailing hyphen. UUIDs pass. */
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

export const isRuntimeName = (s: string): boolean => NAME.test(s)

export const validateName = (field: string, value: string): Effect.Effect<string, InvalidRuntimeName> =>
  isRuntimeName(value)
    ? Effect.succeed(value)
    : Effect.fail(
      new InvalidRuntimeName({
        field,
        value: value.slice(0, 100),
        message: `${field} must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'`
      })
    )

export const validateRef = (ref: ReplicaRef): Effect.Effect<ReplicaRef, InvalidRuntimeName> =>
  Effect.all([
    validateName("service", ref.service),
    validateName("deployment", ref.deployment),
    validateName("replica", ref.replica)
  ]).pipe(Effect.as(ref))
