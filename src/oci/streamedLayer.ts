/**
 * Unpacking a layer while it downloads (ADR 0805): the first layer of a pull that is not in the cache
 * is fed chunk by chunk into the unpacker as the body arrives, instead of being unpacked only after the
 * whole blob is on disk. The blob still goes to the cache (hashed, verified) as before. Layer content is
 * hostile input whether or not its digest has been checked yet — the unpacker's rules are what keep it
 * inside the rootfs — and a blob that does not match its digest fails the pull, so its half-written tree
 * is removed with the bundle's temp directory like any other failed pull.
 *
 * Backpressure is end to end: the download awaits the unpacker's input buffer before reading more.
 */
import type { LayerFeed } from "./unpackFeed.js"
import type { Unpacker } from "./unpackWorkerClient.js"

export type StreamedResult =
  | { readonly streamed: true }
  /** The blob was already cached (another pull had it in flight): unpack it from `path`. */
  | { readonly streamed: false; readonly path: string }

/**
 * Runs `download` (which must call `onChunk` with every body chunk, in order) and applies the bytes to
 * `unpacker` as layer `label` while they arrive (in the unpack worker, unpackWorkerPool.ts). A failure
 * of either side fails both.
 */
export const unpackWhileDownloading = async (
  unpacker: Unpacker,
  label: string,
  download: (onChunk: (chunk: Buffer) => Promise<void>) => Promise<{ readonly hit: boolean; readonly path: string }>
): Promise<StreamedResult> => {
  let feed: LayerFeed | undefined
  const onChunk = async (chunk: Buffer) => {
    feed ??= unpacker.openLayerFeed(label)
    // resolves once the unpacker's input has room: the download waits meanwhile
    await feed.write(chunk)
  }

  let entry: { readonly hit: boolean; readonly path: string }
  try {
    entry = await download(onChunk)
  } catch (e) {
    const before = await feed?.abort()
    // the unpacker's refusal names the entry; prefer it over the aborted download
    if (before !== undefined) throw before.error
    throw e
  }
  if (feed === undefined) {
    if (entry.hit) return { streamed: false, path: entry.path }
    // an empty blob
    feed = unpacker.openLayerFeed(label)
  }
  await feed.end()
  return { streamed: true }
}
