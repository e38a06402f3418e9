import { Schema } from "effect"

// Error messages in this subsystem name key paths, files and reasons, never a
// plaintext value or key material: they may end up in logs and API responses.

/** The document is not a SOPS document this implementation understands (syntax, metadata, value format). */
export class SopsFormatError extends Schema.TaggedError<SopsFormatError>()("denia/secrets/SopsFormatError", {
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** The document uses a SOPS feature Denia does not implement (e.g. comment regexes, Shamir key groups). */
export class SopsUnsupported extends Schema.TaggedError<SopsUnsupported>()("denia/secrets/SopsUnsupported", {
  feature: Schema.String
}) {}

/** A value (or the MAC) failed AES-GCM authentication, or its plaintext does not parse as its declared type. */
export class SopsDecryptError extends Schema.TaggedError<SopsDecryptError>()("denia/secrets/SopsDecryptError", {
  /** The key path as sops uses it for additional data, e.g. `app2:db:password:`; `sops:mac` for the MAC. */
  path: Schema.String,
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** A value could not be encrypted (unsupported type, crypto failure). */
export class SopsEncryptError extends Schema.TaggedError<SopsEncryptError>()("denia/secrets/SopsEncryptError", {
  path: Schema.String,
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** Every value decrypted, but the MAC recomputed over the plaintext differs from the stored one. */
export class SopsMacMismatch extends Schema.TaggedError<SopsMacMismatch>()("denia/secrets/SopsMacMismatch", {}) {
  override get message(): string {
    return "sops MAC mismatch: the document was modified or corrupted"
  }
}

/** The data key could not be recovered: no age stanza this host's identity opens, or a malformed stanza. */
export class SopsDataKeyError extends Schema.TaggedError<SopsDataKeyError>()("denia/secrets/SopsDataKeyError", {
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** The age identity file could not be read, created or parsed. */
export class AgeIdentityError extends Schema.TaggedError<AgeIdentityError>()("denia/secrets/AgeIdentityError", {
  path: Schema.String,
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** A project id or secret ref is not a safe path component. */
export class InvalidSecretId extends Schema.TaggedError<InvalidSecretId>()("denia/secrets/InvalidSecretId", {
  field: Schema.Literal("projectId", "ref", "key"),
  reason: Schema.String
}) {}

/** No secret with this ref exists in this project. */
export class SecretNotFound extends Schema.TaggedError<SecretNotFound>()("denia/secrets/SecretNotFound", {
  projectId: Schema.String,
  ref: Schema.String
}) {}

/** Reading or writing a secret file failed at the file-system level. */
export class SecretStoreIoError extends Schema.TaggedError<SecretStoreIoError>()("denia/secrets/SecretStoreIoError", {
  path: Schema.String,
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** Any failure decoding a SOPS document. */
export type SopsReadError = SopsFormatError | SopsUnsupported | SopsDecryptError | SopsMacMismatch | SopsDataKeyError

/** Any failure writing a SOPS document. */
export type SopsWriteError = SopsFormatError | SopsUnsupported | SopsEncryptError | SopsDataKeyError
