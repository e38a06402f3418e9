import { Schema } from "effect"

// Error messages in this subsystem name key paths, files and reasons, never a
// plaintext value or key material: they may end up in logs and API responses.

/** The document is not a SOPS document this implementation understands (syntax, metadata, value format). */
export class SopsFormatError extends Schema.TaggedError<SopsFormatError>()("SopsFormatError", {
  reason: Schema.String
}) {}

/** The document uses a SOPS feature Denia does not implement (e.g. comment regexes, Shamir key groups). */
export class SopsUnsupported extends Schema.TaggedError<SopsUnsupported>()("SopsUnsupported", {
  feature: Schema.String
}) {}

/** A value (or the MAC) failed AES-GCM authentication, or its plaintext does not parse as its declared type. */
export class SopsDecryptError extends Schema.TaggedError<SopsDecryptError>()("SopsDecryptError", {
  /** The key path as sops uses it for additional data, e.g. `app2:db:password:`; `sops:mac` for the MAC. */
  path: Schema.String,
  reason: Schema.String
}) {}

/** A value could not be encrypted (unsupported type, crypto failure). */
export class SopsEncryptError extends Schema.TaggedError<SopsEncryptError>()("SopsEncryptError", {
  path: Schema.String,
  reason: Schema.String
}) {}

/** Every value decrypted, but the MAC recomputed over the plaintext differs from the stored one. */
export class SopsMacMismatch extends Schema.TaggedError<SopsMacMismatch>()("SopsMacMismatch", {}) {
  override get message(): string {
    return "sops MAC mismatch: the document was modified or corrupted"
  }
}

/** The data key could not be recovered: no age stanza this host's identity opens, or a malformed stanza. */
export class SopsDataKeyError extends Schema.TaggedError<SopsDataKeyError>()("SopsDataKeyError", {
  reason: Schema.String
}) {}

/** The age identity file could not be read, created or parsed. */
export class AgeIdentityError extends Schema.TaggedError<AgeIdentityError>()("AgeIdentityError", {
  path: Schema.String,
  reason: Schema.String
}) {}

/** A project id or secret ref is not a safe path component. */
export class InvalidSecretId extends Schema.TaggedError<InvalidSecretId>()("InvalidSecretId", {
  field: Schema.Literal("projectId", "ref", "key"),
  reason: Schema.String
}) {}

/** No secret with this ref exists in this project. */
export class SecretNotFound extends Schema.TaggedError<SecretNotFound>()("SecretNotFound", {
  projectId: Schema.String,
  ref: Schema.String
}) {}

/** Reading or writing a secret file failed at the file-system level. */
export class SecretStoreIoError extends Schema.TaggedError<SecretStoreIoError>()("SecretStoreIoError", {
  path: Schema.String,
  reason: Schema.String
}) {}

/** Any failure decoding a SOPS document. */
export type SopsReadError = SopsFormatError | SopsUnsupported | SopsDecryptError | SopsMacMismatch | SopsDataKeyError

/** Any failure writing a SOPS document. */
export type SopsWriteError = SopsFormatError | SopsUnsupported | SopsEncryptError | SopsDataKeyError
