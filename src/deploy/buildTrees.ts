/**
 * A build's result deployed from the build's own layer trees (ADR 0822). When the node can mount a
 * rootfs idmapped (`OciService.adoptsBuiltTrees`), the build runs without the base prewarm and, right
 * after its push, the OCI service makes the image's bundle from the layer trees in the project's build
 * storage by hardlinks (`adoptBuilt`): nothing of the image is downloaded or unpacked a second time. The
 * deploy's pull of the pushed digest then finds that bundle. Anything that stops the adoption is one
 * line in the deployment log, and the pull does the whole work as before.
 *
 * Authorization is the pull's own: the manifest and config are read through `/v2` with a pull token for
 * the service's repository minted from the deploy's grant, revoked when the adoption ends.
 */
import { Effect, Option } from "effect"
import type { BuildRequest, BuildResult } from "../builder/Builder.js"
import type { BuildFailed } from "../builder/errors.js"
import { describeOciError } from "../oci/describeError.js"
import { OciService } from "../oci/index.js"
import { HostedPulls } from "../registry/hostedPulls.js"
import { type PrewarmRequest, withBasePrewarm } from "./basePrewarm.js"

type LayerTreesHook = NonNullable<BuildRequest["withLayerTrees"]>

/** The hook that adopts the pushed image's layer trees into its bundle for `request`'s service. */
const adoptionHook = (request: BuildRequest) =>
  Effect.gen(function*() {
    const oci = yield* OciService
    const pulls = yield* HostedPulls
    const repository = `${request.projectName}/${request.serviceName}`
    const hook: LayerTreesHook = (built) =>
      Effect.gen(function*() {
        const token = yield* pulls.mint(request.serviceId, repository)
        if (Option.isNone(token)) {
          return yield* request.log("build storage: no pull authorization for the built image; the deploy pulls it")
        }
        const started = Date.now()
        yield* oci
          .adoptBuilt(
            `${pulls.address}/${repository}@${built.digest}`,
            { kind: "basic", username: "denia-deployer", password: token.value },
            built.trees
          )
          .pipe(
            Effect.flatMap((image) =>
              request.log(
                image.reused
                  ? `build storage: the image's bundle exists already`
                  : `build storage: bundle made from the build's ${built.trees.length} layer tree(s) in ${
                    Date.now() - started
                  } ms (hardlinks, no second unpack)`
              )
            ),
            Effect.catchAll((e) =>
              request.log(
                `build storage: layer trees not used (${
                  e._tag === "denia/oci/LayerTreesRefused" ? e.reason : describeOciError(e)
                }); the deploy pulls the image`
              )
            ),
            Effect.ensuring(pulls.revoke(token.value))
          )
      })
    return hook
  })

/**
 * Runs `build` for `request`: with the adoption hook when the node adopts build trees, otherwise beside
 * the base prewarm (ADR 0805), which is what a node without idmapped mounts keeps doing.
 */
export const buildForDeploy = <R>(
  prewarm: PrewarmRequest,
  request: BuildRequest,
  build: (request: BuildRequest) => Effect.Effect<BuildResult, BuildFailed, R>
) =>
  Effect.gen(function*() {
    const oci = yield* OciService
    if (!oci.adoptsBuiltTrees) return yield* withBasePrewarm(prewarm, build(request))
    const withLayerTrees = yield* adoptionHook(request)
    return yield* build({ ...request, withLayerTrees })
  })
