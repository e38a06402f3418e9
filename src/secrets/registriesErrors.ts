import { Schema } from "effect"

/**
 * A stored secret (registry credentials or a service secret) could not be
 * read back: missing file, wrong host key, tampered document. The message
 * names the owner and the reason, never a value.
 */
export class SecretUnavailable extends Schema.TaggedError<SecretUnavailable>()("denia/secrets/SecretUnavailable", {
  /** `registry:<id>` or `service:<id>/<NAME>`. */
  owner: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `secret of ${this.owner} is unavailable: ${this.reason}`
  }
}

/**
 * Turns a SecretStore failure into `SecretUnavailable`, keeping only its tag
 * and its `reason`/`path` fields (which never hold plaintext). On purpose it
 * keeps no `cause`: a wrapped store error could carry more than those fields.
 */
export const secretUnavailable = (owner: string) => (e: { readonly _tag: string }): SecretUnavailable => {
  const reason = "reason" in e && typeof e.reason === "string" ? e.reason : undefined
  const at = "path" in e && typeof e.path === "string" ? e.path : undefined
  return new SecretUnavailable({
    owner,
    reason: [e._tag, at === undefined ? undefined : `at ${at}`, reason].filter((x) => x !== undefined).join(" ")
  })
}
