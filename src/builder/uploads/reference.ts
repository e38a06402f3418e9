/**
 * How a deployment names "build this upload": the image reference it records is the service's hosted
 * repository with the tag `upload-<uploadId>` (`127.0.0.1:7180/shop/web:upload-0190…`). The tag itself is
 * never pushed — the build pushes `:<deploymentId>` and the deployment keeps the digest, so restarts and
 * rollbacks pull `…@<digest>` like any hosted image — but it lets the deploy path authorize the hosted
 * repository for the caller (the pull grant the build token is minted from) without a new API field.
 */
const TAG_PREFIX = "upload-"
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export const uploadBuildReference = (registryAddress: string, projectName: string, serviceName: string, uploadId: string): string =>
  `${registryAddress}/${projectName}/${serviceName}:${TAG_PREFIX}${uploadId}`

export interface UploadBuildTarget {
  readonly projectName: string
  readonly serviceName: string
  readonly uploadId: string
}

/** The upload a reference asks to build (no digest pinned), or undefined for any other reference. */
export const uploadBuildTarget = (reference: string): UploadBuildTarget | undefined => {
  if (reference.includes("@")) return undefined
  const colon = reference.lastIndexOf(":")
  const slash = reference.lastIndexOf("/")
  if (colon < slash) return undefined
  const tag = reference.slice(colon + 1)
  if (!tag.startsWith(TAG_PREFIX) || !UUID.test(tag.slice(TAG_PREFIX.length))) return undefined
  const parts = reference.slice(0, colon).split("/")
  const serviceName = parts.at(-1)
  const projectName = parts.at(-2)
  if (serviceName === undefined || projectName === undefined || parts.length < 3) return undefined
  return { projectName, serviceName, uploadId: tag.slice(TAG_PREFIX.length) }
}
