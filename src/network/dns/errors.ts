import { Schema } from "effect"

/** The DNS server could not listen on its address (address in use, not local, permission). */
export class DnsBindError extends Schema.TaggedError<DnsBindError>()("denia/network/DnsBindError", {
  address: Schema.String,
  port: Schema.Number,
  protocol: Schema.Literal("udp", "tcp"),
  message: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** An option of the DNS server (or a resolver list it was given) is unusable; `message` starts with the field name. */
export class DnsConfigError extends Schema.TaggedError<DnsConfigError>()("denia/network/DnsConfigError", {
  field: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}
