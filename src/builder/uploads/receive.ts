/**
 * How an upload's body reaches `<id>.partial` and the receive check (ADR 0902, 0904). On a plain
 * connection with a declared length the `denia-init` helper takes the body from the socket: it tees
 * every byte into the partial file and into the decompressor of the check (requestBody.ts), so the
 * daemon only sees tar headers. Otherwise the request is read as a stream and copied by a Tee into the
 * file and the check. Either way the format comes from the first bytes (a plain tar only when the
 * client declared one, ADR 0820) and the caps apply: the body cap of the format found.
 */
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import { PassThrough, type Readable, Transform, type TransformCallback } from "node:stream"
import { pipeline } from "node:stream/promises"
import { peekBytes } from "../../platform/archive/peekBytes.js"
import { mayTakeRequestBody, takeRequestBody } from "../../platform/archive/requestBody.js"
import { bodyCap, scanArchive, sniffFormat, type UploadFormat } from "./archive.js"
import { type ArchiveCaps, rejected } from "./rules.js"

export interface Received {
  readonly format: UploadFormat
  /** Bytes stored (the body as it came). */
  readonly bytes: number
  readonly entries: number
  readonly unpackedBytes: number
}

const notAnArchive = () =>
  rejected(
    "format",
    "",
    "the body must be a gzip- or zstd-compressed tar archive, or a plain tar sent as content-type application/x-tar"
  )

/** What the request says of its body before a byte of it is read. */
export interface DeclaredBody {
  readonly plainTar: boolean
  /** The 413 of the body cap of a compressed body (`plainTar` false) or a plain tar (true). */
  readonly tooLarge: (plainTar: boolean) => Error
}

/** Copies every chunk into `side` (waiting for it to drain) and passes it on; fails past `limit` bytes. */
class Tee extends Transform {
  bytes = 0
  constructor(private readonly side: PassThrough, private readonly limit: number, private readonly onLimit: () => Error) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    if (this.bytes > this.limit) return callback(this.onLimit())
    if (this.side.destroyed) return callback(null, chunk)
    if (this.side.write(chunk)) callback(null, chunk)
    else this.side.once("drain", () => callback(null, chunk))
  }
  override _flush(callback: TransformCallback): void {
    this.side.end()
    callback()
  }
}

/**
 * The helper's way; undefined (nothing read, no file left) when the body cannot be taken from the
 * socket. The declared length was checked against the cap by the caller.
 */
export const receiveFromSocket = async (
  body: Readable,
  partial: string,
  caps: ArchiveCaps,
  helper: string | undefined,
  declared: DeclaredBody
): Promise<Received | undefined> => {
  // the copy file is opened only for a body that can be taken
  if (!mayTakeRequestBody(body, helper)) return undefined
  const file = await fsp.open(partial, "wx", 0o600)
  const taken = await takeRequestBody(body, { helper, copyTo: file.fd }).catch(async (e: unknown) => {
    await file.close()
    throw e
  })
  if (taken === undefined) {
    await file.close()
    await fsp.rm(partial, { force: true })
    return undefined
  }
  try {
    const format = sniffFormat(taken.head, declared.plainTar)
    if (format === undefined) throw notAnArchive()
    // declared as a plain tar but compressed: the compressed cap holds
    if (taken.length > bodyCap(caps, format === "tar")) throw declared.tooLarge(format === "tar")
    const scanned = await scanArchive(taken, format, caps, undefined, helper)
    return { format, bytes: taken.length, ...scanned }
  } finally {
    taken.stop()
    await taken.release()
    await file.close()
  }
}

/** The stream way: the body is piped by hand into a Tee that feeds the file and the check. */
export const receiveStream = async (
  body: Readable,
  partial: string,
  caps: ArchiveCaps,
  helper: string | undefined,
  declared: DeclaredBody
): Promise<Received> => {
  const head = await peekBytes(body, 4)
  const format = sniffFormat(head, declared.plainTar)
  if (format === undefined) throw notAnArchive()
  const side = new PassThrough({ highWaterMark: 1024 * 1024 })
  const tee = new Tee(side, bodyCap(caps, format === "tar"), () => declared.tooLarge(format === "tar"))
  const out = fs.createWriteStream(partial, { flags: "wx", mode: 0o600, highWaterMark: 1024 * 1024 })
  // the body is piped by hand: a refusal stops reading it without destroying the request,
  // so the route can still answer (and then close the connection)
  const onAbort = () => tee.destroy(new Error("request body aborted"))
  body.once("aborted", onAbort)
  body.once("error", onAbort)
  body.pipe(tee)
  const stop = () => {
    body.unpipe(tee)
    body.off("aborted", onAbort)
    body.off("error", onAbort)
  }
  // the check runs through the tar pipe when the helper has it: entry data is skipped there, only
  // headers come back into the daemon (ADR 0902)
  const scan = scanArchive(side, format, caps, undefined, helper).catch((e: unknown) => {
    stop()
    tee.destroy(e instanceof Error ? e : new Error(String(e)))
    throw e
  })
  const write = pipeline(tee, out)
    .catch((e: unknown) => {
      side.destroy()
      throw e
    })
    .finally(stop)
  const [written, scanned] = await Promise.allSettled([write, scan])
  // a refusal found by the scan also fails the write (the tee is destroyed with it)
  if (written.status === "rejected") throw written.reason
  if (scanned.status === "rejected") throw scanned.reason
  return { format, bytes: tee.bytes, entries: scanned.value.entries, unpackedBytes: scanned.value.unpackedBytes }
}
