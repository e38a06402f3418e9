/**
 * Pre-warming a build's base while buildah runs (ADR 0805): the final stage's `FROM` image
 * (dockerfileBase.ts) is unpacked into a chain snapshot of all its layers (OciService `prewarm`), so the
 * deploy's pull of the built image — whose lower layers are the base's, by digest — clones that tree
 * and applies only the app's layers.
 *
 * Authorization is never wider than the build's own: a hosted base only from the service's own project,
 * with a pull-only token for that one base repository from the service's build grant
 * (registry/hostedPulls.ts `mintPullFrom`, revoked when the prewarm ends; `/v2` still checks the principal's role); an external base with the project registry's
 * credentials for exactly that host — what the build's auth file gives buildah — else anonymously. A
 * prewarm never fails the deployment: what goes wrong is one line in the deployment log. It runs as a
 * child fiber of the deployment (interrupted with it) and through the OCI service's own limits.
 */
import { Effect, Fiber, Option, Scope } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Service } from "../domain/service.js"
import type { RegistryCredentials } from "../oci/auth.js"
import { describeOciError } from "../oci/describeError.js"
import { OciService, parseReference } from "../oci/index.js"
import { formatPlatform, hostPlatform } from "../oci/manifest.js"
import { sameRegistryHost } from "../oci/registryHost.js"
import { UnpackPriority, unpackPriority } from "../oci/unpackWorkerPool.js"
import { HostedPulls } from "../registry/hostedPulls.js"
import { Registries } from "../secrets/registries.js"
import { finalBaseImage } from "./dockerfileBase.js"

/**
 * The prewarm unpacks at the build's CPU priority (builder/isolation.ts runs buildah under `nice -n 19`)
 * while the build runs, so that the two share the CPU instead of the prewarm starving the build's own
 * pull of the same base (ADR 0808); at the daemon's (0) once the deployment waits for it.
 */
const PREWARM_NICE = 19

/** A Dockerfile bigger than this is not read for its base (buildah still builds it). */
const MAX_DOCKERFILE_BYTES = 1024 * 1024

export interface PrewarmRequest {
  readonly service: Pick<Service, "id" | "name" | "projectId">
  readonly projectName: string
  readonly contextDir: string
  /** Relative to `contextDir`, as the build gets it. */
  readonly dockerfile: string
  readonly log: (line: string) => Effect.Effect<void>
  /**
   * Where a spare clone of the base's tree lives (ADR 0812): the scope that also covers the pull of the
   * built image, which takes it; without one no spare is made.
   */
  readonly spareScope?: Scope.Scope
}

/** What the prewarm may pull with; `skip` says why it may not. */
export type PrewarmPlan =
  | { readonly _tag: "pull"; readonly reference: string; readonly credentials: RegistryCredentials; readonly token?: string }
  | { readonly _tag: "skip"; readonly reason: string }

/** The Dockerfile's text when it is a regular file inside the context (symlinks resolved), else undefined. */
const readDockerfile = (contextDir: string, dockerfile: string) =>
  Effect.promise(async () => {
    try {
      const root = await fs.realpath(contextDir)
      const file = await fs.realpath(path.resolve(contextDir, dockerfile))
      const rel = path.relative(root, file)
      if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) return undefined
      const st = await fs.stat(file)
      if (!st.isFile() || st.size > MAX_DOCKERFILE_BYTES) return undefined
      return await fs.readFile(file, "utf8")
    } catch {
      return undefined
    }
  })

/** How the base `reference` may be pulled for `service`: the build's own authorization or nothing. */
export const planPrewarm = (
  service: PrewarmRequest["service"],
  projectName: string,
  reference: string
): Effect.Effect<PrewarmPlan, never, HostedPulls | Registries> =>
  Effect.gen(function*() {
    const pulls = yield* HostedPulls
    const parsed = yield* parseReference(reference).pipe(Effect.option)
    if (Option.isNone(parsed)) return { _tag: "skip", reason: `${reference} is not an image reference` } as const
    const hosted = pulls.hostedReference(reference)
    if (Option.isSome(hosted)) {
      if (!hosted.value.repository.startsWith(`${projectName}/`)) {
        return { _tag: "skip", reason: `${hosted.value.repository} is not a repository of project ${projectName}` } as const
      }
      const token = yield* pulls.mintPullFrom(service.id, `${projectName}/${service.name}`, hosted.value.repository)
      if (Option.isNone(token)) return { _tag: "skip", reason: "no build authorization for this service" } as const
      return {
        _tag: "pull",
        reference: `${pulls.address}/${hosted.value.repository}${hosted.value.suffix}`,
        credentials: { kind: "basic", username: "denia-builder", password: token.value },
        token: token.value
      } as const
    }
    // the project registry for this host, as the build's auth file has it (builder/BuildahBuilder.ts)
    const registries = yield* Registries
    const list = yield* registries.list(service.projectId).pipe(Effect.orElseSucceed(() => []))
    const match = list.find((r) => sameRegistryHost(r.endpoint.replace(/^https?:\/\//, "").replace(/\/.*$/, ""), parsed.value.registry))
    if (match === undefined) return { _tag: "pull", reference, credentials: { kind: "anonymous" } } as const
    const credentials = yield* registries.resolveCredentials(service.projectId, match.id).pipe(Effect.option)
    if (Option.isNone(credentials)) return { _tag: "skip", reason: `the credentials of registry ${match.name} cannot be read` } as const
    return { _tag: "pull", reference, credentials: credentials.value } as const
  })

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/**
 * When the base's snapshot is ready and the build still runs: its tree cloned for the deploy's pull
 * beside the build, at the build's priority (ADR 0812), so the pull moves it in instead of cloning.
 */
const spareFor = (request: PrewarmRequest, digests: ReadonlyArray<string>, build: { done: boolean }) =>
  request.spareScope === undefined || build.done || digests.length === 0
    ? Effect.void
    : Effect.flatMap(OciService, (oci) => oci.prepareSpare(digests, PREWARM_NICE)).pipe(
      Scope.extend(request.spareScope),
      Effect.asVoid
    )

/** The prewarm itself; never fails (interruption aside). `phase` tells the caller how far it got. */
const prewarm = (request: PrewarmRequest, phase: { current: string }, priority: UnpackPriority, build: { done: boolean }) =>
  Effect.gen(function*() {
    const text = yield* readDockerfile(request.contextDir, request.dockerfile)
    if (text === undefined) return yield* request.log("prewarm: skipped (the Dockerfile cannot be read here)")
    const base = finalBaseImage(text)
    if (base._tag === "skip") return yield* request.log(`prewarm: skipped (${base.reason})`)
    if (base.platform !== undefined && base.platform.toLowerCase() !== formatPlatform(hostPlatform())) {
      return yield* request.log(`prewarm: skipped (FROM --platform=${base.platform} is not this node's platform)`)
    }
    const plan = yield* planPrewarm(request.service, request.projectName, base.reference)
    if (plan._tag === "skip") return yield* request.log(`prewarm: skipped (${plan.reason})`)
    const pulls = yield* HostedPulls
    const oci = yield* OciService
    const started = Date.now()
    yield* request.log(`prewarm: unpacking base image ${base.reference} while the build runs`)
    yield* oci.prewarm(plan.reference, plan.credentials, (p) => void (phase.current = p.phase)).pipe(
      Effect.locally(unpackPriority, priority),
      Effect.matchEffect({
        onSuccess: (r) =>
          request.log(
            r.alreadyUnpacked
              ? `prewarm: base image ${base.reference} already unpacked on this node (${r.layers} layers)`
              : `prewarm: base image ${base.reference} unpacked (${r.layers} layers) in ${seconds(Date.now() - started)}`
          ).pipe(Effect.zipRight(spareFor(request, r.digests, build))),
        onFailure: (e) => request.log(`prewarm: base image ${base.reference} not unpacked: ${describeOciError(e)}`)
      }),
      Effect.ensuring(plan.token === undefined ? Effect.void : pulls.revoke(plan.token))
    )
  }).pipe(
    Effect.catchAllDefect((d) =>
      Effect.logWarning("prewarm failed with a defect", d).pipe(Effect.zipRight(request.log("prewarm: failed (see daemon log)")))
    ),
    Effect.ensuring(Effect.sync(() => void (phase.current = "done")))
  )

/**
 * Runs `build` with the base prewarm beside it. When the build is done first, a prewarm that already
 * has its layers (unpacking) is waited for — what is left of it the deploy's pull would otherwise do
 * from the start; one still resolving or downloading is stopped. A failed or interrupted build stops it.
 */
export const withBasePrewarm = <A, E, R>(request: PrewarmRequest, build: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const phase = { current: "starting" }
    const priority = new UnpackPriority(PREWARM_NICE)
    const building = { done: false }
    const fiber = yield* Effect.fork(prewarm(request, phase, priority, building))
    const result = yield* build.pipe(Effect.onError(() => Fiber.interrupt(fiber)))
    building.done = true
    if (phase.current === "done") return result
    if (phase.current === "unpacking" || phase.current === "finalizing") {
      yield* request.log("prewarm: waiting for the base image to finish unpacking")
      // nothing else runs for this deployment now: the prewarm at the daemon's priority
      priority.set(0)
      // an interrupted prewarm (e.g. the one it waited on was cancelled) must not end the deployment
      yield* Fiber.await(fiber)
    } else {
      yield* Fiber.interrupt(fiber)
      yield* request.log("prewarm: stopped (the build finished before the base image was downloaded)")
    }
    return result
  })
