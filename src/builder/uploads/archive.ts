/**
 * Streaming reads of an uploaded context (a gzip- or zstd-compressed tar, or a plain tar the client
 * declared as `application/x-tar`, ADR 0820), ADR 0902: the stream is decompressed by a `zstd -d` /
 * `gzip -d` child (a plain tar goes as it is) and goes through the tar header gate
 * (platform/archive), which hands every entry to the rules (rules.ts) and reads nothing but headers;
 * to unpack, the gate forwards the checked entries to GNU `tar -x` in a fresh directory. The
 * decompressed stream is capped too, so a decompression bomb stops at the cap instead of burning CPU on
 * gigabytes of padding.
 */
import type { Readable } from "node:stream"
import { DecompressError, extractTar, TarExtractError, type TarFile, TarFormatError } from "../../platform/archive/extractTar.js"
import type { PipeInput } from "../../platform/archive/requestBody.js"
import type { GateEntry, GatePolicy } from "../../platform/archive/tarGate.js"
import { UploadRejected } from "../errors.js"
import { type ArchiveCaps, ArchiveChecker, rejected } from "./rules.js"

/** Headroom for tar headers and padding on top of the file data cap. */
export const TAR_OVERHEAD_BYTES = 64 * 1024 * 1024

export type UploadFormat = "gzip" | "zstd" | "tar"

/**
 * The format from the body's first bytes: a compressed stream by its magic, whatever the client
 * declared; otherwise a plain tar when the client declared one (the tar gate then checks every header),
 * else undefined.
 */
export const sniffFormat = (head: Buffer, declaredPlainTar = false): UploadFormat | undefined =>
  head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
    ? "gzip"
    : head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528
    ? "zstd"
    : declaredPlainTar
    ? "tar"
    : undefined

/** The media type a plain-tar body is declared with. */
export const PLAIN_TAR_MEDIA_TYPE = "application/x-tar"

/** Whether a `Content-Type` value declares a plain tar (parameters and case ignored). */
export const declaresPlainTar = (contentType: string | undefined): boolean =>
  (contentType ?? "").split(";")[0]?.trim().toLowerCase() === PLAIN_TAR_MEDIA_TYPE

/**
 * The largest body allowed: `upload_max_mb` for a compressed one; a plain tar is as large as what it
 * unpacks to, so the tar stream's own cap (the unpacked cap plus header room) bounds it instead.
 */
export const bodyCap = (caps: ArchiveCaps, plainTar: boolean): number =>
  plainTar ? Math.max(caps.maxBytes, caps.maxUnpackedBytes + TAR_OVERHEAD_BYTES) : caps.maxBytes

export interface ScanResult {
  readonly entries: number
  readonly unpackedBytes: number
}

/** The upload rules as a gate policy: modes without set-id bits, owner-writable; ids are the daemon's. */
const uploadPolicy = (checker: ArchiveChecker): GatePolicy => (e: GateEntry) => {
  const verdict = checker.check(e)
  if (verdict instanceof UploadRejected) throw verdict
  if (verdict === "") return "skip"
  const mode = e.type === "directory" ? (e.mode & 0o777) | 0o700 : e.type === "symlink" ? 0o777 : (e.mode & 0o777) | 0o600
  return { path: verdict, mode, uid: 0, gid: 0 }
}

/**
 * Reads the compressed tar from `input`, checking each entry; with `dest` (an empty directory) the
 * accepted entries are unpacked there. Fails with the first `UploadRejected`; a failing `tar -x` (disk)
 * is a TarExtractError.
 */
export const scanArchive = async (
  input: Readable | TarFile | PipeInput,
  format: UploadFormat,
  caps: ArchiveCaps,
  dest?: string,
  tarPipeHelper?: string
): Promise<ScanResult> => {
  const checker = new ArchiveChecker(caps)
  try {
    await extractTar(input, {
      compression: format === "tar" ? "none" : format,
      policy: uploadPolicy(checker),
      dest,
      sameOwner: false,
      helper: tarPipeHelper,
      // a plain tar cut at an entry boundary is still a tar: only its end block tells it is whole (ADR 0820)
      requireEnd: format === "tar",
      maxTarBytes: {
        bytes: caps.maxUnpackedBytes + TAR_OVERHEAD_BYTES,
        error: () => rejected("too-large-unpacked", "", `the context unpacks to more than its cap (upload_max_unpacked_mb)`, 413)
      }
    })
  } catch (e) {
    if (e instanceof UploadRejected || e instanceof TarExtractError) throw e
    if (e instanceof DecompressError || e instanceof TarFormatError) {
      throw rejected(
        "format",
        "",
        format === "tar" ? "the body is not a valid tar archive" : `the body is not a valid ${format}-compressed tar archive`
      )
    }
    throw e
  }
  if (checker.entries === 0) throw rejected("format", "", "the archive has no entries")
  return { entries: checker.entries, unpackedBytes: checker.unpackedBytes }
}
