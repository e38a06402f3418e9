/**
 * Turns a service's source into an unpacked image bundle through the OCI
 * subsystem: external images with the project's registry credentials, hosted
 * images from Denia's own registry on the loopback API address.
 */
import { Effect } from "effect"
import type { Project } from "../domain/project.js"
import type { Service } from "../domain/service.js"
import type { PulledImage, PullProgress } from "../oci/index.js"
import { OciService } from "../oci/index.js"
import { describeOciError } from "../oci/describeError.js"
import type { RegistryCredentials } from "../oci/auth.js"
import { resolveRegistryCredentials } from "../secrets/registries.js"
import { DeployFailed } from "./errors.js"

export interface HostedRegistryAccess {
  /** `host:port` of the API server, where `/v2` lives. */
  readonly address: string
  readonly token: string
}

/** The reference a deployment will pull (before resolving the digest). */
export const imageReferenceOf = (
  service: Service,
  project: Project,
  override: string | undefined,
  hosted: HostedRegistryAccess
): Effect.Effect<string, DeployFailed> => {
  if (override !== undefined) return Effect.succeed(override)
  switch (service.source.type) {
    case "image":
      return Effect.succeed(service.source.image)
    case "hosted":
      return Effect.succeed(`${hosted.address}/${project.name}/${service.name}:${service.source.tag}`)
    case "git":
    case "upload":
      return Effect.fail(
        new DeployFailed({ phase: "building", message: `${service.source.type} sources need image builds, which this node does not support yet; deploy with an image override or use an image/hosted source` })
      )
  }
}

const credentialsFor = (service: Service, hosted: HostedRegistryAccess, reference: string) =>
  Effect.gen(function* () {
    if (reference.startsWith(`${hosted.address}/`)) return { kind: "bearer", token: hosted.token } satisfies RegistryCredentials
    if (service.source.type === "image" && service.source.registryId !== null) {
      return yield* resolveRegistryCredentials(service.projectId, service.source.registryId).pipe(
        Effect.mapError((e) => new DeployFailed({ phase: "building", message: `registry credentials unavailable: ${e._tag === "NotFound" ? e.message : "cannot decrypt them"}` }))
      )
    }
    return { kind: "anonymous" } satisfies RegistryCredentials
  })

export const acquireImage = (
  service: Service,
  reference: string,
  hosted: HostedRegistryAccess,
  onProgress: (p: PullProgress) => void
) =>
  Effect.gen(function* () {
    const oci = yield* OciService
    const credentials = yield* credentialsFor(service, hosted, reference)
    return yield* oci.pull(reference, credentials, onProgress).pipe(
      Effect.mapError((e) => new DeployFailed({ phase: "building", message: `pull of ${reference} failed: ${describeOciError(e)}` }))
    )
  })

/** A previously pulled bundle, for restarts and rollbacks without the network. */
export const bundleOf = (digest: string | undefined) =>
  Effect.gen(function* () {
    const oci = yield* OciService
    if (digest === undefined) return yield* new DeployFailed({ phase: "starting", message: "deployment has no image digest" })
    const found = yield* oci.lookup(digest)
    if (found._tag === "None") return yield* new DeployFailed({ phase: "starting", message: `image bundle ${digest} is gone; redeploy` })
    return found.value satisfies PulledImage
  })
