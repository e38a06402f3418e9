/**
 * Streaming reads of an uploaded context (a gzip- or zstd-compressed tar): every entry goes through the
 * rules (rules.ts) as it arrives; the decompressed stream is capped too, so a decompression bomb stops at
 * the cap instead of burning CPU on gigabytes of padding.
 */
import { spawn, spawnSync } from "node:child_process"
import type { Readable } from "node:stream"
import { Duplex, Transform, type TransformCallback } from "node:stream"
import { pipeline } from "node:stream/promises"
import * as tar from "tar-stream"
import { type Compression, decompressor } from "../../oci/decompress.js"
import { UploadRejected } from "../errors.js"
import { type ArchiveCaps, ArchiveChecker, rejected } from "./rules.js"

type TarEntry = tar.Extract extends AsyncIterable<infer E> ? E : never

let zstdBinary: boolean | undefined
/** Is the `zstd` binary installed (checked once)? It decompresses an order of magnitude faster than fzstd. */
const nativeZstd = (): boolean => (zstdBinary ??= spawnSync("zstd", ["--version"], { stdio: "ignore" }).status === 0)

/** `zstd -d` as a stream: its failure (corrupt input) fails the readable side. */
const nativeZstdDecompressor = (): { readonly stream: Duplex; readonly done: Promise<void> } => {
  const child = spawn("zstd", ["-d", "-q", "-c"], { stdio: ["pipe", "pipe", "ignore"] })
  const stream = Duplex.from({ writable: child.stdin, readable: child.stdout })
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", reject)
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`zstd exited ${code ?? "on a signal"}`))))
  })
  // torn down before its output ended (a refusal, an aborted body): stop the decoder; after a normal end
  // it exits on its own and `done` reports its status
  stream.on("close", () => {
    if (!stream.readableEnded && child.exitCode === null) child.kill("SIGKILL")
  })
  return { stream, done }
}

/** Headroom for tar headers and padding on top of the file data cap. */
export const TAR_OVERHEAD_BYTES = 64 * 1024 * 1024

export const sniffFormat = (head: Buffer): Exclude<Compression, "none"> | undefined =>
  head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
    ? "gzip"
    : head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528
    ? "zstd"
    : undefined

/** Counts bytes through it; past `limit` it fails with `onLimit()`. */
export class ByteMeter extends Transform {
  bytes = 0
  constructor(private readonly limit: number, private readonly onLimit: () => Error) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    if (this.bytes > this.limit) callback(this.onLimit())
    else callback(null, chunk)
  }
}

export interface ScanResult {
  readonly entries: number
  readonly unpackedBytes: number
}

/** A failure of the entry handler (disk), kept apart from archive format errors. */
class HandlerFailure {
  constructor(readonly failure: unknown) {}
}

export type EntryHandler = (rel: string, entry: TarEntry) => Promise<void>

/**
 * Reads the compressed tar from `input`, checking each entry; `onEntry` (unpack) receives the accepted
 * ones, otherwise their data is skipped. Fails with the first `UploadRejected`.
 */
export const scanArchive = async (
  input: Readable,
  format: Exclude<Compression, "none">,
  caps: ArchiveCaps,
  onEntry?: EntryHandler
): Promise<ScanResult> => {
  const checker = new ArchiveChecker(caps)
  const extract = tar.extract()
  const meter = new ByteMeter(
    caps.maxUnpackedBytes + TAR_OVERHEAD_BYTES,
    () => rejected("too-large-unpacked", "", `the context unpacks to more than its cap (upload_max_unpacked_mb)`, 413)
  )
  const native = format === "zstd" && nativeZstd() ? nativeZstdDecompressor() : undefined
  const decode = native?.stream ?? decompressor(format)
  if (decode === undefined) throw rejected("format", "", "the body is not gzip or zstd")
  const feeding = pipeline(input, decode, meter, extract)
  // a decoder that fails after its output ended (truncated input) must still fail the scan
  const decoded = native?.done ?? Promise.resolve()
  const failures: Array<unknown> = []
  try {
    for await (const entry of extract) {
      const verdict = checker.check(entry.header)
      if (verdict instanceof UploadRejected) throw verdict
      if (onEntry !== undefined) await onEntry(verdict, entry).catch((e: unknown) => Promise.reject(new HandlerFailure(e)))
      else entry.resume()
    }
  } catch (e) {
    failures.push(e)
    extract.destroy()
    input.destroy()
  }
  await feeding.catch((e: unknown) => void failures.push(e))
  await decoded.catch((e: unknown) => void failures.push(e))
  if (failures.length === 0 && checker.entries === 0) throw rejected("format", "", "the archive has no entries")
  if (failures.length > 0) {
    const refusal = failures.find((e) => e instanceof UploadRejected)
    if (refusal !== undefined) throw refusal
    const handler = failures.find((e) => e instanceof HandlerFailure)
    if (handler instanceof HandlerFailure) throw handler.failure
    throw rejected("format", "", `the body is not a valid ${format}-compressed tar archive`)
  }
  return { entries: checker.entries, unpackedBytes: checker.unpackedBytes }
}
