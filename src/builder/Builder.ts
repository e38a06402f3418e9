/**
 * Port of the builder subsystem: turns a build context on disk (an unpacked upload or a Git checkout) into an
 * image in Denia's hosted registry, `<project>/<service>:<deploymentId>`, which the deploy pipeline then pulls
 * through the normal OCI path. Implemented by `Builder.layer` (buildah, one build at a time per node).
 */
import { Context, type Effect, Layer } from "effect"
import type { BuildSecret } from "../domain/service.js"
import { type BuilderOptions, makeBuildahBuilder } from "./BuildahBuilder.js"
import type { BuildFailed } from "./errors.js"
import type { LayerTree } from "./layerTrees.js"

export { BuildFailed } from "./errors.js"
export type { LayerTree } from "./layerTrees.js"

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
  /** The source's `buildSecrets` (service secret names), offered to `RUN --mount=type=secret` steps (ADR 0806). */
  readonly secrets?: ReadonlyArray<BuildSecret>
  /**
   * Called after a successful push with the built image's layer trees in the project's build storage
   * (bottom first), before the build's tag is removed: the trees stay the image's until it returns
   * (ADR 0822). Not called when the trees cannot be located (a log line says so).
   */
  readonly withLayerTrees?: (built: { readonly digest: string; readonly trees: ReadonlyArray<LayerTree> }) => Effect.Effect<void>
}

export interface BuildResult {
  /** The pushed hosted reference, `<project>/<service>:<deploymentId>` (repository part, no registry host). */
  readonly repository: string
  readonly tag: string
  readonly digest: string
}

export class Builder extends Context.Tag("denia/builder/Builder")<Builder, {
  readonly build: (request: BuildRequest) => Effect.Effect<BuildResult, BuildFailed>
}>() {
  /**
   * buildah on this node (ADR 0801); needs `HostedPulls` (build tokens), `Registries` (`FROM` credentials),
   * `ServiceSecretsRepo` and `SecretStore` (build secrets, ADR 0806).
   */
  static readonly layer = (options: BuilderOptions) => Layer.scoped(Builder, makeBuildahBuilder(options))
}
