import { Schema } from "effect"
import { Id } from "./ids.js"

/**
 * Custom domain host names. Accepted: ASCII DNS names of at least two labels,
 * each 1–63 of `[a-z0-9-]` without leading/trailing hyphen, 253 characters at
 * most, not an IP address. Input is lowercased (a single trailing dot is not
 * accepted: hostnames are stored in one canonical form).
 */
export const validateHostname = (
  input: string
): { readonly ok: true; readonly hostname: string } | { readonly ok: false; readonly reason: string } => {
  const bad = (reason: string) => ({ ok: false as const, reason })
  if (input.length === 0) return bad("must not be empty")
  if (input.length > 253) return bad("must be at most 253 characters")
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return bad("must not contain control characters")
    if (c > 0x7e) return bad("must be ASCII (use the punycode xn-- form for internationalised names)")
    if (c === 0x20) return bad("must not contain spaces")
  }
  if (input.includes("*")) return bad("wildcards are not supported")
  if (input.startsWith(".") || input.endsWith(".")) return bad("must not start or end with a dot")
  const hostname = input.toLowerCase()
  const labels = hostname.split(".")
  if (labels.length < 2) return bad("must be a fully qualified name with at least two labels")
  for (const label of labels) {
    if (label.length === 0) return bad("must not contain empty labels")
    if (label.length > 63) return bad("labels must be at most 63 characters")
    if (!/^[a-z0-9-]+$/.test(label)) return bad(`label ${JSON.stringify(label)} may only contain a-z, 0-9 and '-'`)
    if (label.startsWith("-") || label.endsWith("-")) return bad(`label ${JSON.stringify(label)} must not start or end with '-'`)
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? "")) return bad("must be a DNS name, not an IP address")
  return { ok: true, hostname }
}

/** `released`: another claim on the hostname was verified first; `expired`: not verified within `domain_claim_ttl_hours`. */
export const DomainStatus = Schema.Literal("pending", "verified", "released", "expired")
export type DomainStatus = typeof DomainStatus.Type

export const CertificateState = Schema.Struct({
  status: Schema.Literal("none", "pending", "issued", "failed"),
  expiresAt: Schema.NullOr(Schema.String),
  error: Schema.NullOr(Schema.String)
})

export const Domain = Schema.Struct({
  id: Id,
  serviceId: Id,
  hostname: Schema.String,
  status: DomainStatus,
  /** Why a claim is `released` or `expired`; null otherwise. */
  statusReason: Schema.NullOr(Schema.String),
  /** Path segment the daemon answers at `/.well-known/denia-challenge/<token>` while pending. */
  verificationToken: Schema.String,
  /** Where `verify` fetches the challenge from. */
  verificationUrl: Schema.String,
  verifiedAt: Schema.NullOr(Schema.String),
  lastError: Schema.NullOr(Schema.String),
  certificate: CertificateState,
  createdAt: Schema.String,
  updatedAt: Schema.String
}).annotations({ identifier: "Domain" })
export type Domain = typeof Domain.Type

export const AttachDomain = Schema.Struct({
  hostname: Schema.String.pipe(Schema.filter((h) => (h.length <= 253 ? true : "hostname must be at most 253 characters")))
}).annotations({ identifier: "AttachDomain" })
