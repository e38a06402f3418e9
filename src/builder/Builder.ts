/**
 * Port of the builder subsystem: turns a build context on disk (an unpacked upload or a Git checkout) into an
 * image in Denia's hosted registry, `<project>/<service>:<deploymentId>`, which the deploy pipeline then pulls
 * through the normal OCI path. Implemented by `Builder.layer` (buildah, one build at a time per node).
 */
import { Context, type Effect, Schema } from "effect"

export class BuildFailed extends Schema.TaggedError<BuildFailed>("denia/builder/BuildFailed")("denia/builder/BuildFailed", {
  /** What failed, for the deployment error (e.g. `step 3/5 RUN npm ci failed (exit 1)`). */
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

export interface BuildRequest {
  readonly projectId: string
  readonly projectName: string
  readonly serviceId: string
  readonly serviceName: string
  readonly deploymentId: string
  /** Absolute path of the build context directory (already confined and checked by the caller). */
  readonly contextDir: string
  /** Dockerfile path relative to `contextDir`. */
  readonly dockerfile: string
  /** Receives build output line by line (goes to the deployment log). */
  readonly log: (line: string) => Effect.Effect<void>
}

export interface BuildResult {
  /** The pushed hosted reference, `<project>/<service>:<deploymentId>` (repository part, no registry host). */
  readonly repository: string
  readonly tag: string
  readonly digest: string
}

export class Builder extends Context.Tag("denia/builder/Builder")<Builder, {
  readonly build: (request: BuildRequest) => Effect.Effect<BuildResult, BuildFailed>
}>() {}
