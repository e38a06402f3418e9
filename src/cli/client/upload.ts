/**
 * Streams a packed context to `POST /v1/services/{id}/uploads?deploy=true` (chunked: the compressed size
 * is not known up front) with a progress line — a bar-less `\r` line with bytes and rate on a terminal,
 * a plain line every few seconds otherwise. Loaded lazily by the push command.
 */
import * as http from "node:http"
import * as https from "node:https"
import type { Readable } from "node:stream"
import { Transform, type TransformCallback } from "node:stream"
import { pipeline } from "node:stream/promises"

import { formatBytes } from "./bytes.js"

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

/** The progress printer for stderr: `\r` updates on a terminal, plain lines otherwise. */
export const progressPrinter = (tty: boolean) => (bytes: number, elapsedMs: number, done: boolean) => {
  const rate = elapsedMs > 0 ? (bytes * 1000) / elapsedMs : 0
  const text = `uploading ${formatBytes(bytes)} at ${formatBytes(rate)}/s${done ? " — done" : ""}`
  if (tty) process.stderr.write(`\r\x1b[2K${text}${done ? "\n" : ""}`)
  else process.stderr.write(`${text}\n`)
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
