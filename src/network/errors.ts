import { Schema } from "effect"

/** A host networking command (`ip`, `nft`, a sysctl write) failed; `step` names what was being done. */
export class NetworkCommandFailed extends Schema.TaggedError<NetworkCommandFailed>()("denia/network/NetworkCommandFailed", {
  step: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** Every address of the replica subnet is taken. */
export class SubnetExhausted extends Schema.TaggedError<SubnetExhausted>()("denia/network/SubnetExhausted", {
  subnet: Schema.String
}) {}
