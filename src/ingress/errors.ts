import { Schema } from "effect"

/** The challenge could not be fetched or did not match; the domain stays pending. */
export class VerificationFailed extends Schema.TaggedError<VerificationFailed>()("denia/ingress/VerificationFailed", {
  hostname: Schema.String,
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `verification of ${this.hostname} failed: ${this.reason}`
  }
}
