import { Schema } from "effect"

/** The challenge could not be fetched or did not match; the domain stays pending. */
export class VerificationFailed extends Schema.TaggedError<VerificationFailed>()("VerificationFailed", {
  hostname: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `verification of ${this.hostname} failed: ${this.reason}`
  }
}
