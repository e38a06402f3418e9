import type { OciError } from "./errors.js"

/** One operator-facing sentence per acquisition failure (for deployment logs and pull status). */
export const describeOciError = (e: OciError): string => {
  switch (e._tag) {
    case "denia/oci/InvalidReference":
      return `invalid image reference ${e.reference}: ${e.reason}`
    case "denia/oci/RegistryUnreachable":
      return `registry ${e.registry} unreachable: ${e.reason}`
    case "denia/oci/RegistryProtocolError":
      return `registry ${e.registry} answered ${e.status}: ${e.reason}`
    case "denia/oci/RegistryUnauthorized":
      return `not authorized to pull ${e.repository} from ${e.registry}: ${e.reason}`
    case "denia/oci/ImageNotFound":
      return `image ${e.reference} not found: ${e.reason}`
    case "denia/oci/UnsupportedMediaType":
      return `unsupported media type ${e.mediaType}: ${e.reason}`
    case "denia/oci/NoMatchingPlatform":
      return `${e.reference} has no ${e.wanted} image (available: ${e.available.join(", ") || "none"})`
    case "denia/oci/DigestMismatch":
      return `content of ${e.digest} does not match its digest: ${e.reason}`
    case "denia/oci/SsrfRefused":
      return `refused to connect to ${e.host} (${e.address}, ${e.reason} address); allow it with insecure_registries`
    case "denia/oci/HostileLayer":
      return `layer ${e.layer} has a hostile entry ${JSON.stringify(e.entry)}: ${e.reason}`
    case "denia/oci/UnpackLimitExceeded":
      return `image too large: ${e.limit} exceeded at ${JSON.stringify(e.entry)} in layer ${e.layer}`
    case "denia/oci/InvalidImageConfig":
      return `invalid image config ${e.digest}: ${e.reason}`
    case "denia/oci/UnknownImageUser":
      return `image USER ${JSON.stringify(e.user)}: ${e.reason}`
    case "denia/oci/IdOutOfRange":
      return `${e.subject} id ${e.id} is outside the user-namespace range (< ${e.limit})`
    case "denia/oci/OciStorageError":
      // Path and OS message stay in the daemon log: this text reaches API clients.
      return `local storage error during ${e.operation} (details in the daemon log)`
  }
}
