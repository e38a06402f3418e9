import { Schema } from "effect"

/** The image reference could not be parsed. */
export class InvalidReference extends Schema.TaggedError<InvalidReference>()("denia/oci/InvalidReference", {
  reference: Schema.String,
  reason: Schema.String
}) {}

/** The registry (or its token endpoint / blob storage) could not be reached after retries. */
export class RegistryUnreachable extends Schema.TaggedError<RegistryUnreachable>()("denia/oci/RegistryUnreachable", {
  registry: Schema.String,
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** The registry answered with an unexpected status or a malformed body. */
export class RegistryProtocolError extends Schema.TaggedError<RegistryProtocolError>()("denia/oci/RegistryProtocolError", {
  registry: Schema.String,
  status: Schema.Number,
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** Authentication failed or the credentials do not grant pull access. */
export class RegistryUnauthorized extends Schema.TaggedError<RegistryUnauthorized>()("denia/oci/RegistryUnauthorized", {
  registry: Schema.String,
  repository: Schema.String,
  reason: Schema.String
}) {}

/** The manifest (tag or digest) or a blob does not exist in the registry. */
export class ImageNotFound extends Schema.TaggedError<ImageNotFound>()("denia/oci/ImageNotFound", {
  reference: Schema.String,
  reason: Schema.String
}) {}

/** A manifest, index or layer uses a media type Denia does not handle. */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("denia/oci/UnsupportedMediaType", {
  mediaType: Schema.String,
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** An image index has no manifest for the host platform. */
export class NoMatchingPlatform extends Schema.TaggedError<NoMatchingPlatform>()("denia/oci/NoMatchingPlatform", {
  reference: Schema.String,
  wanted: Schema.String,
  available: Schema.Array(Schema.String)
}) {}

/** Content did not match its digest (or declared size). Nothing was kept. */
export class DigestMismatch extends Schema.TaggedError<DigestMismatch>()("denia/oci/DigestMismatch", {
  digest: Schema.String,
  reason: Schema.String
}) {}

/** The SSRF guard refused to connect to a host. */
export class SsrfRefused extends Schema.TaggedError<SsrfRefused>()("denia/oci/SsrfRefused", {
  host: Schema.String,
  address: Schema.String,
  reason: Schema.String
}) {}

/** A layer contains an entry that would escape or corrupt the rootfs. */
export class HostileLayer extends Schema.TaggedError<HostileLayer>()("denia/oci/HostileLayer", {
  layer: Schema.String,
  entry: Schema.String,
  reason: Schema.String
}) {}

/** The unpacked image exceeds the configured size or entry-count cap. */
export class UnpackLimitExceeded extends Schema.TaggedError<UnpackLimitExceeded>()("denia/oci/UnpackLimitExceeded", {
  layer: Schema.String,
  entry: Schema.String,
  limit: Schema.String
}) {}

/** The image configuration blob is missing fields or malformed. */
export class InvalidImageConfig extends Schema.TaggedError<InvalidImageConfig>()("denia/oci/InvalidImageConfig", {
  digest: Schema.String,
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** The image's USER names a user or group the image does not define. */
export class UnknownImageUser extends Schema.TaggedError<UnknownImageUser>()("denia/oci/UnknownImageUser", {
  user: Schema.String,
  reason: Schema.String
}) {}

/** A uid/gid lies outside the user-namespace range given to replicas. */
export class IdOutOfRange extends Schema.TaggedError<IdOutOfRange>()("denia/oci/IdOutOfRange", {
  subject: Schema.String,
  id: Schema.Number,
  limit: Schema.Number
}) {}

/** A local file-system operation in the cache or the artifact store failed. */
export class OciStorageError extends Schema.TaggedError<OciStorageError>()("denia/oci/OciStorageError", {
  operation: Schema.String,
  path: Schema.String,
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

export type RegistryError =
  | RegistryUnreachable
  | RegistryProtocolError
  | RegistryUnauthorized
  | ImageNotFound
  | UnsupportedMediaType
  | NoMatchingPlatform
  | DigestMismatch
  | SsrfRefused

export type UnpackError = HostileLayer | UnpackLimitExceeded | UnsupportedMediaType | OciStorageError

export type OciError =
  | InvalidReference
  | RegistryError
  | UnpackError
  | InvalidImageConfig
  | UnknownImageUser
  | IdOutOfRange
  | OciStorageError

/** A build's layer trees were not made into a bundle (ADR 0822); the deploy pulls the image instead. */
export class LayerTreesRefused extends Schema.TaggedError<LayerTreesRefused>()("denia/oci/LayerTreesRefused", {
  reason: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}
