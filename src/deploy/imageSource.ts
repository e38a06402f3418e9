/**
 * Turns a service's source into an unpacked image bundle through the OCI
 * subsystem: external images with the project's registry credentials (only
 * for the registry's own endpoint), hosted images from Denia's own registry
 * on the loopback API address with a pull-only token scoped to the one
 * repository (minted from the grant the deploy request left, see
 * registry/hostedPulls.ts). The admin token is never used for pulls.
 */
import { Effect, Option } from "effect"
import { Builder } from "../builder/Builder.js"
import { uploadBuildTarget } from "../builder/uploads/reference.js"
import { Uploads } from "../builder/uploads/Uploads.js"
import type { Project } from "../domain/project.js"
import { buildSecretsOf, type Service } from "../domain/service.js"
import type { RegistryCredentials } from "../oci/auth.js"
import { describeOciError } from "../oci/describeError.js"
import type { PulledImage, PullProgress } from "../oci/index.js"
import { OciService } from "../oci/index.js"
import { HostedPulls } from "../registry/hostedPulls.js"
import { type Registries, resolveRegistryCredentialsFor } from "../secrets/registries.js"
import { buildForDeploy } from "./buildTrees.js"
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
          message: "upload sources deploy from an upload: run `denia push`, or POST the context to /v1/services/{id}/uploads?deploy=true"
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

/**
 * The shared build step (uploads here, Git checkouts in builder/git): build `contextDir` with the node's
 * Builder into `<project>/<service>:<deploymentId>` on the hosted registry, then pull that digest through
 * the hosted path above (pull token from the deploy's grant); where the build's layer trees were adopted
 * into the bundle (buildTrees.ts), that pull only resolves the digest and finds it. Without a Builder in the daemon graph it
 * fails like a source this node cannot build.
 */
export const buildThenAcquire = (
  service: Service,
  target: { readonly projectName: string; readonly deploymentId: string },
  contextDir: string,
  dockerfile: string,
  log: (line: string) => Effect.Effect<void>,
  onProgress: (p: PullProgress) => void
) =>
  Effect.gen(function*() {
    const builder = yield* Effect.serviceOption(Builder)
    if (Option.isNone(builder)) return yield* failed(`${service.source.type} sources need image builds, which this node does not run`)
    // the scope covers the build and the pull of its result: a spare clone of the base's tree made beside
    // the build (ADR 0812) lives until the pull took it
    const spareScope = yield* Effect.scope
    const built = yield* buildForDeploy(
      { service, projectName: target.projectName, contextDir, dockerfile, log, spareScope },
      {
        projectId: service.projectId,
        projectName: target.projectName,
        serviceId: service.id,
        serviceName: service.name,
        deploymentId: target.deploymentId,
        contextDir,
        dockerfile,
        log,
        secrets: buildSecretsOf(service.source)
      },
      builder.value.build
    ).pipe(Effect.mapError((e) => failed(e.message, e)))
    const pulls = yield* HostedPulls
    return yield* acquireImage(service, `${pulls.address}/${built.repository}@${built.digest}`, onProgress)
  }).pipe(Effect.scoped)

/**
 * What a deployment runs: an upload build when its reference names one (builder/uploads/reference.ts)
 * and the service is an upload source, otherwise the image pull above.
 */
export const acquireDeploymentImage = (
  service: Service,
  deploymentId: string,
  reference: string,
  onProgress: (p: PullProgress) => void,
  log: (line: string) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const upload = uploadBuildTarget(reference)
    if (upload === undefined || service.source.type !== "upload") return yield* acquireImage(service, reference, onProgress)
    const dockerfile = service.source.dockerfile
    const uploads = yield* Effect.serviceOption(Uploads)
    if (Option.isNone(uploads)) return yield* failed("upload sources need image builds, which this node does not run")
    return yield* uploads.value
      .withContext(
        service.id,
        upload.uploadId,
        (dir) => buildThenAcquire(service, { projectName: upload.projectName, deploymentId }, dir, dockerfile, log, onProgress)
      )
      .pipe(
        Effect.catchTags({
          "denia/builder/UploadNotFound": (e) => failed(e.message),
          "denia/builder/UploadRejected": (e) => failed(`upload ${upload.uploadId}: ${e.message}`),
          "denia/builder/UploadStorageError": (e) => failed("cannot unpack the upload (see daemon log)", e)
        })
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
