import { Schema } from "effect"

/** DNS-label-like names: `[a-z0-9-]`, 1–63 chars, no leading/trailing hyphen. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

export const ResourceName = Schema.String.pipe(
  Schema.pattern(NAME_PATTERN, {
    message: () => "must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'"
  })
).annotations({ identifier: "ResourceName" })

export const isResourceName = (s: string): boolean => NAME_PATTERN.test(s)
