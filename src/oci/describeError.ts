import type { OciError } from "./errors.js"

/** One operator-facing sentence per acquisition failure (for deployment logs and pull status). */
export const describeOciError = (e: OciError): string => {
  switch (e._tag) {
    case "InvalidReference":
      return `invalid image reference ${e.reference}: ${e.reason}`
    case "RegistryUnreachable":
      return `registry ${e.registry} unreachable: ${e.reason}`
    case "RegistryProtocolError":
      return `registry ${e.registry} answered ${e.status}: ${e.reason}`
    case "RegistryUnauthorized":
      return `not authorized to pull ${e.repository} from ${e.registry}: ${e.reason}`
    case "ImageNotFound":
      return `image ${e.reference} not found: ${e.reason}`
    case "UnsupportedMediaType":
      return `unsupported media type ${e.mediaType}: ${e.reason}`
    case "NoMatchingPlatform":
      return `${e.reference} has no ${e.wanted} image (available: ${e.available.join(", ") || "none"})`
    case "DigestMismatch":
      return `content of ${e.digest} does not match its digest: ${e.reason}`
    case "SsrfRefused":
      return `refused to connect to ${e.host} (${e.address}, ${e.reason} address); allow it with insecure_registries`
    case "HostileLayer":
      return `layer ${e.layer} has a hostile entry ${JSON.stringify(e.entry)}: ${e.reason}`
    case "UnpackLimitExceeded":
      return `image too large: ${e.limit} exceeded at ${JSON.stringify(e.entry)} in layer ${e.layer}`
    case "InvalidImageConfig":
      return `invalid image config ${e.digest}: ${e.reason}`
    case "UnknownImageUser":
      return `image USER ${JSON.stringify(e.user)}: ${e.reason}`
    case "IdOutOfRange":
      return `${e.subject} id ${e.id} is outside the user-namespace range (< ${e.limit})`
    case "OciStorageError":
      return `local storage error during ${e.operation} of ${e.path}: ${e.reason}`
  }
}
