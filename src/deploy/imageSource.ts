/**
 * Turns a service's source into an unpacked image bundle through the OCI
 * subsystem: external images with the project's registry credentials (only
 * for the registry's own endpoint), hosted images from Denia's own registry
 * on the loopback API address with a pull-only token scoped to the one
 * repository (minted from the grant the deploy request left, see
 * registry/hostedPulls.ts). The admin token is never used for pulls.
 */
import { Effect, Option } from "effect"
import type { Project } from "../domain/project.js"
import type { Service } from "../domain/service.js"
import type { RegistryCredentials } from "../oci/auth.js"
import { describeOciError } from "../oci/describeError.js"
import type { PulledImage, PullProgress } from "../oci/index.js"
import { OciService } from "../oci/index.js"
import { HostedPulls } from "../registry/hostedPulls.js"
import { type Registries, resolveRegistryCredentialsFor } from "../secrets/registries.js"
import { DeployFailed } from "./errors.js"

export interface HostedRegistryAccess {
  /** `host:port` of the API server, where `/v2` lives. */
  readonly address: string
}

/** The tag a Git-source deployment names until its build has produced `:<deploymentId>`. */
export const GIT_PENDING_TAG = "git-build-pending"

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
      // built into the service's own hosted repository; the build records `:<deploymentId>` (deploy/gitBuild.ts)
      return Effect.succeed(`${hosted.address}/${project.name}/${service.name}:${GIT_PENDING_TAG}`)
    case "upload":
      return Effect.fail(
        new DeployFailed({
          phase: "building",
          message:
            `${service.source.type} sources need image builds, which this node does not support yet; deploy with an image override or use an image/hosted source`
        })
      )
  }
}

interface PullPlan {
  /** What the OCI client is asked to pull (hosted references are rewritten to the loopback address). */
  readonly reference: string
  readonly credentials: RegistryCredentials
  /** A pull token to revoke when the pull ends. */
  readonly token: string | undefined
}

const failed = (message: string, cause?: unknown) =>
  new DeployFailed({ phase: "building", message, ...(cause === undefined ? {} : { cause }) })

const planPull = (service: Service, reference: string): Effect.Effect<PullPlan, DeployFailed, HostedPulls | Registries> =>
  Effect.gen(function*() {
    const pulls = yield* HostedPulls
    const hosted = pulls.hostedReference(reference)
    if (Option.isSome(hosted)) {
      const token = yield* pulls.mint(service.id, hosted.value.repository)
      if (Option.isNone(token)) {
        return yield* failed(
          `no pull authorization for hosted repository ${hosted.value.repository}; deploy again (a deploy request authorizes the pull for its caller)`
        )
      }
      return {
        reference: `${pulls.address}/${hosted.value.repository}${hosted.value.suffix}`,
        credentials: { kind: "basic", username: "denia-deployer", password: token.value },
        token: token.value
      }
    }
    if (service.source.type === "image" && service.source.registryId !== null) {
      const credentials = yield* resolveRegistryCredentialsFor(service.projectId, service.source.registryId, reference).pipe(
        Effect.mapError((e) =>
          failed(
            `registry credentials unavailable: ${
              e._tag === "denia/domain/NotFound"
                ? e.message
                : e._tag === "denia/domain/Invalid"
                ? `${e.field}: ${e.message}`
                : "cannot decrypt them"
            }`
          )
        )
      )
      return { reference, credentials, token: undefined }
    }
    return { reference, credentials: { kind: "anonymous" }, token: undefined }
  })

export const acquireImage = (
  service: Service,
  reference: string,
  onProgress: (p: PullProgress) => void
) =>
  Effect.gen(function*() {
    const oci = yield* OciService
    const pulls = yield* HostedPulls
    const plan = yield* planPull(service, reference)
    return yield* oci.pull(plan.reference, plan.credentials, onProgress).pipe(
      Effect.mapError((e) => failed(`pull of ${reference} failed: ${describeOciError(e)}`, e)),
      Effect.ensuring(plan.token === undefined ? Effect.void : pulls.revoke(plan.token))
    )
  })

/** A previously pulled bundle, for restarts and rollbacks without the network. */
export const bundleOf = (digest: string | undefined) =>
  Effect.gen(function*() {
    const oci = yield* OciService
    if (digest === undefined) return yield* new DeployFailed({ phase: "starting", message: "deployment has no image digest" })
    const found = yield* oci.lookup(digest)
    if (found._tag === "None") return yield* new DeployFailed({ phase: "starting", message: `image bundle ${digest} is gone; redeploy` })
    return found.value satisfies PulledImage
  })
