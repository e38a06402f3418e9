/**
 * The unpacker on the calling thread (ADR 0301): `UnpackerCore` (unpackCore.ts, the rules) with its
 * refusals as the typed `OciFailure`s the pull reports. The daemon applies layers in a worker thread
 * (unpackWorkerPool.ts, ADR 0808), which runs the same core; this class is what the worker falls back
 * to where no worker can be started, and what tools and tests use directly.
 */
import type { Readable } from "node:stream"
import { HostileLayer, IdOutOfRange, UnpackLimitExceeded } from "./errors.js"
import { OciFailure } from "./transport.js"
import { type Refusal, UnpackerCore, UnpackRefusal } from "./unpackCore.js"
import { type LayerFeed, openFeed } from "./unpackFeed.js"

export { type Refusal, sanitizeEntryPath, type UnpackLimits, type UnpackOptions, type UnpackState } from "./unpackCore.js"

/** The typed failure of a refusal, with the same fields. */
export const refusalFailure = (r: Refusal): OciFailure => {
  switch (r._tag) {
    case "HostileLayer":
      return new OciFailure(new HostileLayer({ layer: r.layer, entry: r.entry, reason: r.reason }))
    case "IdOutOfRange":
      return new OciFailure(new IdOutOfRange({ subject: r.subject, id: r.id, limit: r.limit }))
    case "UnpackLimitExceeded":
      return new OciFailure(new UnpackLimitExceeded({ layer: r.layer, entry: r.entry, limit: r.limit }))
  }
}

const lift = async <A>(p: Promise<A>): Promise<A> => {
  try {
    return await p
  } catch (e) {
    throw e instanceof UnpackRefusal ? refusalFailure(e.refusal) : e
  }
}

/**
 * Applies image layers in order onto a private rootfs directory (the rules: unpackCore.ts). Refusals
 * are `OciFailure`s wrapping `HostileLayer`, `IdOutOfRange` or `UnpackLimitExceeded`.
 */
export class RootfsUnpacker extends UnpackerCore {
  override applyLayerFile(layer: string, file: string): Promise<void> {
    return lift(super.applyLayerFile(layer, file))
  }

  override applyLayerStream(layer: string, stream: Readable, toDestroy: ReadonlyArray<Readable> = []): Promise<void> {
    return lift(super.applyLayerStream(layer, stream, toDestroy))
  }

  override finish(): Promise<void> {
    return lift(super.finish())
  }

  /** Layer `label` fed chunk by chunk (unpackFeed.ts). */
  openLayerFeed(label: string): LayerFeed {
    return openFeed((stream, toDestroy) => this.applyLayerStream(label, stream, toDestroy))
  }
}
