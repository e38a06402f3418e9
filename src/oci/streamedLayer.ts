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
import { once } from "node:events"
import { PassThrough } from "node:stream"
import { decompressor, sniffBytes } from "./decompress.js"
import type { RootfsUnpacker } from "./unpack.js"

export type StreamedResult =
  | { readonly streamed: true }
  /** The blob was already cached (another pull had it in flight): unpack it from `path`. */
  | { readonly streamed: false; readonly path: string }

/**
 * Runs `download` (which must call `onChunk` with every body chunk, in order) and applies the bytes to
 * `unpacker` as layer `label` while they arrive. A failure of either side fails both.
 */
export const unpackWhileDownloading = async (
  unpacker: RootfsUnpacker,
  label: string,
  download: (onChunk: (chunk: Buffer) => Promise<void>) => Promise<{ readonly hit: boolean; readonly path: string }>
): Promise<StreamedResult> => {
  const input = new PassThrough({ highWaterMark: 1024 * 1024 })
  // errors surface through the unpacker's promise; a write after it stopped must not crash the daemon
  input.on("error", () => undefined)
  let unpacking: Promise<void> | undefined
  let unpackError: { readonly error: unknown } | undefined
  let head: Array<Buffer> = []
  let headBytes = 0

  const start = () => {
    const first = Buffer.concat(head)
    head = []
    const d = decompressor(sniffBytes(first))
    if (d !== undefined) d.on("error", () => undefined)
    const running = unpacker.applyLayerStream(label, d === undefined ? input : input.pipe(d), [input])
    running.catch((error: unknown) => {
      unpackError = { error }
    })
    unpacking = running
    return first
  }
  const write = async (buf: Buffer) => {
    if (input.write(buf)) return
    await Promise.race([once(input, "drain"), unpacking])
  }
  const onChunk = async (chunk: Buffer) => {
    if (unpackError !== undefined) throw unpackError.error
    if (unpacking === undefined) {
      head.push(chunk)
      headBytes += chunk.length
      if (headBytes < 4) return
      return write(start())
    }
    return write(chunk)
  }

  let entry: { readonly hit: boolean; readonly path: string }
  try {
    entry = await download(onChunk)
  } catch (e) {
    input.destroy()
    await unpacking?.catch(() => undefined)
    // the unpacker's refusal names the entry; prefer it over the aborted download
    if (unpackError !== undefined) throw unpackError.error
    throw e
  }
  if (unpacking === undefined) {
    if (entry.hit && headBytes === 0) return { streamed: false, path: entry.path }
    // a blob of fewer than 4 bytes
    await write(start())
  }
  input.end()
  await unpacking
  return { streamed: true }
}
