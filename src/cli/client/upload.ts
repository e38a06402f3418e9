/**
 * Streams a packed context to `POST /v1/services/{id}/uploads?deploy=true` (chunked: the compressed size
 * is not known up front) with progress: on a terminal a bar against the uncompressed tar size (known
 * from the listing) with the compressed bytes sent and their rate beside it; a plain line every few
 * seconds otherwise. Loaded lazily by the push command.
 */
import * as http from "node:http"
import * as https from "node:https"
import type { Readable } from "node:stream"

import { formatBytes } from "../../domain/bytes.js"
import { type BarStream, progressBar } from "./progress.js"

export { formatBytes }

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

/**
 * Sends `body` as the request body, chunked. Whatever the body has buffered is taken in one read and
 * written corked, so a backlog (the packer runs ahead of the upload, ADR 0810) goes out in a few large
 * writes rather than one per 64 KiB pipe read, and no stream stage sits between the packer's buffer and
 * the socket (ADR 0811). `show` gets the bytes sent so far at most every `everyMs`, and once at the end.
 */
export const uploadStream = async (
  url: string,
  token: string,
  body: Readable,
  show: (bytes: number, elapsedMs: number, done: boolean) => void,
  everyMs: number
): Promise<UploadResponse> => {
  const target = new URL(url)
  const transport = target.protocol === "https:" ? https : http
  const started = Date.now()
  let bytes = 0
  let lastShown = 0
  return new Promise<UploadResponse>((resolve, reject) => {
    const req = transport.request(target, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/octet-stream",
        "transfer-encoding": "chunked"
      }
    }, (res) => {
      answered = true
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (c: string) => (text = (text + c).slice(0, 1024 * 1024)))
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: text, bytes })
        // answered before the body ended (a refusal): the rest is not wanted, the packers stop
        if (!ended) req.destroy()
      })
      res.on("error", reject)
      res.on("aborted", () => reject(new Error("the daemon closed the connection mid-answer")))
    })
    let blocked = false
    let ended = false
    // a daemon that refuses closes the connection while the body is still coming: its answer, not the broken write, is the outcome
    let answered = false
    const pump = () => {
      if (blocked || ended) return
      req.cork()
      for (;;) {
        const chunk: unknown = body.read()
        if (chunk === null) break
        if (!Buffer.isBuffer(chunk)) {
          req.uncork()
          return body.destroy(new Error("the packed context is not a byte stream"))
        }
        bytes += chunk.length
        if (!req.write(chunk)) {
          blocked = true
          break
        }
      }
      req.uncork()
      const now = Date.now()
      if (now - lastShown >= everyMs) {
        lastShown = now
        show(bytes, now - started, false)
      }
    }
    req.on("drain", () => {
      blocked = false
      pump()
    })
    body.on("readable", pump)
    body.once("end", () => {
      ended = true
      show(bytes, Date.now() - started, true)
      req.end()
    })
    // a failing packer fails the request; an early answer or a broken connection stops the packers
    body.once("error", (e) => req.destroy(e))
    req.on("error", (e) => {
      body.destroy()
      if (!answered) reject(e)
    })
    req.once("close", () => {
      if (!ended) body.destroy()
    })
  })
}
