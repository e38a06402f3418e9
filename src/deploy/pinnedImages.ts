/**
 * The deployments side of the oci `PinnedImages` port: the layer cache keeps
 * the images of every service's promoted and rollback-target deployments,
 * read from the repositories at each GC run.
 */
import { Effect, Layer } from "effect"
import { PinnedImages } from "../oci/PinnedImages.js"
import { DeploymentsRepo } from "../repos/DeploymentsRepo.js"
import { ServicesRepo } from "../repos/ServicesRepo.js"
import { servingDigests } from "./bundleGc.js"

export const servingImagesLayer: Layer.Layer<PinnedImages, never, ServicesRepo | DeploymentsRepo> = Layer.effect(
  PinnedImages,
  Effect.gen(function*() {
    const services = yield* ServicesRepo
    const deployments = yield* DeploymentsRepo
    // The port has no error channel, and a failed read must abort the GC run
    // (never read as "nothing is pinned", which would delete serving images):
    // the database failure dies here and the GC's runner logs it.
    return { digests: Effect.map(servingDigests(services, deployments), (set) => [...set]).pipe(Effect.orDie) }
  })
)
