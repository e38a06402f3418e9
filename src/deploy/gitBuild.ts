/**
 * The building phase of a Git-source deployment: a shallow checkout of the
 * deployment's ref into a private temp directory (removed afterwards), the
 * confined context and Dockerfile handed to the builder, and the result —
 * `<project>/<service>:<deploymentId>` in the hosted registry — recorded on
 * the deployment with the commit it was built from. The pipeline then pulls
 * it through the normal OCI path.
 *
 * The builder and the Git client are optional services here: a node (or a
 * test graph) without them fails the deployment with a clear message
 * instead of refusing to start.
 */
import { Effect, Option, type Scope } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Builder } from "../builder/Builder.js"
import { type GitService, GitSources } from "../builder/git/GitSources.js"
import type { Deployment } from "../domain/deployment.js"
import type { Project } from "../domain/project.js"
import type { OciService } from "../oci/index.js"
import type { HostedPulls } from "../registry/hostedPulls.js"
import type { DeploymentsRepo } from "../repos/DeploymentsRepo.js"
import type { Registries } from "../secrets/registries.js"
import { buildForDeploy } from "./buildTrees.js"
import type { LogPhase } from "./DeploymentLog.js"
import { DeployFailed } from "./errors.js"
import type { HostedRegistryAccess } from "./imageSource.js"

const failed = (message: string, cause?: unknown) =>
  new DeployFailed({ phase: "building", message, ...(cause === undefined ? {} : { cause }) })

/** The URL as shown in logs: never credentials (the schema refuses them anyway), no query. */
const shownUrl = (url: string) => url.replace(/[?#].*$/, "")

export interface GitBuildContext {
  readonly service: GitService
  readonly project: Project
  readonly deployment: Deployment
  readonly hosted: HostedRegistryAccess
  readonly deployments: Pick<typeof DeploymentsRepo.Service, "recordBuild">
  readonly log: (phase: LogPhase, message: string) => Effect.Effect<void>
  /** Where a spare clone of the base's tree lives until the pull of the build takes it (basePrewarm.ts). */
  readonly spareScope?: Scope.Scope
}

/** Checks out, builds and records the deployment's image; the hosted reference to pull. */
export const buildFromGit = (ctx: GitBuildContext): Effect.Effect<string, DeployFailed, HostedPulls | OciService | Registries> =>
  Effect.gen(function*() {
    const { deployment, log, project, service } = ctx
    const sources = yield* Effect.serviceOption(GitSources)
    const builder = yield* Effect.serviceOption(Builder)
    if (Option.isNone(sources) || Option.isNone(builder)) {
      return yield* failed("git sources need the image builder, which this node does not run; deploy with an image override")
    }
    const ref = deployment.gitRef ?? service.source.ref
    const dir = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => fs.mkdtemp(path.join(os.tmpdir(), "denia-checkout-")),
        catch: (cause) => failed("could not create a checkout directory", cause)
      }),
      (d) => Effect.promise(() => fs.rm(d, { recursive: true, force: true }))
    )
    yield* log("BUILDING", `fetching ${shownUrl(service.source.url)} at ${ref} (shallow)`)
    const checkout = yield* sources.value.checkout(service, ref, dir).pipe(
      Effect.catchTags({
        "denia/builder/GitFailed": (e) => Effect.fail(failed(`git: ${e.message}`, e)),
        "denia/db/DatabaseError": (e) => Effect.fail(failed("internal error reading the git source's state (see daemon log)", e))
      })
    )
    if (checkout.pinnedNow !== undefined) {
      yield* log("BUILDING", `pinned the SSH host key of the Git server on first use: ${checkout.pinnedNow.join(", ")}`)
    }
    yield* log("BUILDING", `checked out commit ${checkout.commit}`)
    const buildLog = (line: string) => log("BUILDING", line)
    const prewarm = {
      service,
      projectName: project.name,
      contextDir: checkout.contextDir,
      dockerfile: checkout.dockerfile,
      log: buildLog,
      ...(ctx.spareScope === undefined ? {} : { spareScope: ctx.spareScope })
    }
    const built = yield* buildForDeploy(
      prewarm,
      {
        projectId: project.id,
        projectName: project.name,
        serviceId: service.id,
        serviceName: service.name,
        deploymentId: deployment.id,
        contextDir: checkout.contextDir,
        dockerfile: checkout.dockerfile,
        log: buildLog,
        secrets: service.source.buildSecrets ?? []
      },
      builder.value.build
    ).pipe(Effect.mapError((e) => failed(`build failed: ${e.message}`, e)))
    const reference = `${ctx.hosted.address}/${built.repository}@${built.digest}`
    yield* ctx.deployments.recordBuild(deployment.id, `${ctx.hosted.address}/${built.repository}:${built.tag}`, checkout.commit).pipe(
      Effect.mapError((e) => failed("internal error recording the build (see daemon log)", e))
    )
    return reference
  }).pipe(Effect.scoped)
