import { Context, type Effect } from "effect"

/**
 * The port through which the layer-cache GC learns what it must keep: the
 * manifest digests of images in use (promoted and rollback-target
 * deployments) or plain blob digests. GC keeps each of them and every blob of
 * a pinned manifest whose bundle exists. The oci subsystem defines it; the
 * daemon wires it from the deployments side (`deploy/pinnedImages.ts`).
 */
export interface PinnedImagesApi {
  /** Read at every GC run, so it always reflects the current deployments. */
  readonly digests: Effect.Effect<ReadonlyArray<string>>
}

export class PinnedImages extends Context.Tag("denia/oci/PinnedImages")<PinnedImages, PinnedImagesApi>() {}
