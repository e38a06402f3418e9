/**
 * Streams a packed context to `POST /v1/services/{id}/uploads?deploy=true` (chunked: the compressed size
 * is not known up front) with progress: on a terminal a bar against the uncompressed tar size (known
 * from the listing) with the compressed bytes sent and their rate beside it; a plain line every few
 * seconds otherwise. Loaded lazily by the push command.
 */
import * as http from "node:http"
import * as https from "node:https"
import type { Readable } from "node:stream"
import { Transform, type TransformCallback } from "node:stream"
import { pipeline } from "node:stream/promises"

import { formatBytes } from "../../domain/bytes.js"
import { type BarStream, progressBar } from "./progress.js"

export { formatBytes }

class Progress extends Transform {
  bytes = 0
  private readonly started = Date.now()
  private lastShown = 0
  constructor(private readonly show: (bytes: number, elapsedMs: number, done: boolean) => void, private readonly everyMs: number) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    const now = Date.now()
    if (now - this.lastShown >= this.everyMs) {
      this.lastShown = now
      this.show(this.bytes, now - this.started, false)
    }
    callback(null, chunk)
  }
  override _flush(callback: TransformCallback): void {
    this.show(this.bytes, Date.now() - this.started, true)
    callback()
  }
}

/** The plain progress line for a pipe or a file (no `\r`): sent bytes and rate. */
export const progressLine = (bytes: number, elapsedMs: number, done: boolean): string => {
  const rate = elapsedMs > 0 ? (bytes * 1000) / elapsedMs : 0
  return `uploading ${formatBytes(bytes)} at ${formatBytes(rate)}/s${done ? " — done" : ""}`
}

export interface UploadReporter {
  /** Uncompressed tar bytes produced by the packer. */
  readonly packed: (bytes: number) => void
  /** Compressed bytes sent so far (cumulative), for `uploadStream`. */
  readonly show: (bytes: number, elapsedMs: number, done: boolean) => void
  /** How often `uploadStream` calls `show`. */
  readonly everyMs: number
  /** The upload ended (a refusal can end it before the body did): the bar's line is ended once. */
  readonly finish: () => void
}

/** Progress of a push on stderr: the bar on a terminal (against `totalTarBytes`), plain lines every 5 s otherwise. */
export const uploadReporter = (
  tty: boolean,
  totalTarBytes: number,
  stream: BarStream = process.stderr
): UploadReporter => {
  if (!tty) {
    return {
      packed: () => undefined,
      show: (b, ms, done) => stream.write(`${progressLine(b, ms, done)}\n`),
      everyMs: 5000,
      finish: () => undefined
    }
  }
  const bar = progressBar("uploading", totalTarBytes, { wire: true, stream: { isTTY: true, write: (c) => stream.write(c) } })
  let sent = 0
  let ended = false
  const end = () => {
    if (ended) return
    ended = true
    bar.done()
  }
  return {
    packed: bar.add,
    show: (bytes, _ms, done) => {
      bar.addSent(bytes - sent)
      sent = bytes
      if (done) end()
    },
    everyMs: 0,
    finish: end
  }
}

export interface UploadResponse {
  readonly status: number
  readonly body: string
  readonly bytes: number
}

export const uploadStream = async (
  url: string,
  token: string,
  body: Readable,
  show: (bytes: number, elapsedMs: number, done: boolean) => void,
  everyMs: number
): Promise<UploadResponse> => {
  const target = new URL(url)
  const transport = target.protocol === "https:" ? https : http
  const progress = new Progress(show, everyMs)
  return new Promise<UploadResponse>((resolve, reject) => {
    const req = transport.request(target, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/octet-stream",
        "transfer-encoding": "chunked"
      }
    }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (c: string) => (text = (text + c).slice(0, 1024 * 1024)))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, bytes: progress.bytes }))
      res.on("error", reject)
    })
    req.on("error", reject)
    // an early answer (a refused entry) ends the request: the rest of the body is not needed
    pipeline(body, progress, req).catch(() => undefined)
  })
}
