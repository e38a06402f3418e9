/**
 * Streams a packed context to `POST /v1/services/{id}/uploads?deploy=true` (chunked: the compressed size
 * is not known up front; a plain tar for a daemon on this host goes with its length, ADR 0820) with progress: on a terminal a bar against the uncompressed tar size (known
 * from the listing) with the compressed bytes sent and their rate beside it; a plain line every few
 * seconds otherwise. Loaded lazily by the push command.
 */
import * as http from "node:http"
import * as https from "node:https"
import type { Socket } from "node:net"
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

/** A body that is not the length it was sent with: a listed file changed size before tar read it. */
export class PackedLengthChanged extends Error {
  constructor(readonly declared: number, readonly produced: number) {
    super(`the context changed while it was packed (${produced} bytes instead of the ${declared} listed)`)
  }
}

/** What `uploadStream` sends: the packed stream, its format, and its exact length when known. */
export interface StreamedBody {
  readonly stream: Readable
  readonly format: "zstd" | "gzip" | "tar"
  readonly length?: number
  readonly sendInto?: undefined
}

/** A plain tar its packers write into the socket themselves (sendPlain.ts); resolves with the bytes written. */
export interface DirectBody {
  readonly stream?: undefined
  readonly format: "tar"
  readonly length: number
  readonly sendInto: (socket: Socket, onWritten: (bytes: number) => void) => Promise<number>
}

export type UploadBody = StreamedBody | DirectBody

/**
 * Sends `body` as the request body: chunked, or with `Content-Length` when its length is known (then
 * the last chunk is held back until the stream ended at exactly that length, so a daemon never receives
 * a complete body that is not the packed tar; otherwise the request is torn down with
 * PackedLengthChanged). Whatever the body has buffered is taken in one read and
 * written corked, so a backlog (the packer runs ahead of the upload, ADR 0810) goes out in a few large
 * writes rather than one per 64 KiB pipe read, and no stream stage sits between the packer's buffer and
 * the socket (ADR 0811). `show` gets the bytes sent so far at most every `everyMs`, and once at the end.
 */
export const uploadStream = async (
  url: string,
  token: string,
  packed: UploadBody,
  show: (bytes: number, elapsedMs: number, done: boolean) => void,
  everyMs: number
): Promise<UploadResponse> =>
  packed.sendInto === undefined ? relayBody(url, token, packed, show, everyMs) : directBody(url, token, packed, show, everyMs)

const headersOf = (token: string, packed: UploadBody): http.OutgoingHttpHeaders => ({
  authorization: `Bearer ${token}`,
  "content-type": packed.format === "tar" ? "application/x-tar" : "application/octet-stream",
  ...(packed.length === undefined ? { "transfer-encoding": "chunked" } : { "content-length": String(packed.length) })
})

const relayBody = async (
  url: string,
  token: string,
  packed: StreamedBody,
  show: (bytes: number, elapsedMs: number, done: boolean) => void,
  everyMs: number
): Promise<UploadResponse> => {
  const body = packed.stream
  const length = packed.length
  const target = new URL(url)
  const transport = target.protocol === "https:" ? https : http
  const started = Date.now()
  let bytes = 0
  let lastShown = 0
  return new Promise<UploadResponse>((resolve, reject) => {
    const req = transport.request(target, { method: "POST", headers: headersOf(token, packed) }, (res) => {
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
    // with a length: the chunk that reaches it, held until the stream ends there
    let held: Buffer | undefined
    let read = 0
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
        read += chunk.length
        if (length !== undefined && read >= length) {
          if (read > length || held !== undefined) {
            req.uncork()
            return req.destroy(new PackedLengthChanged(length, read))
          }
          held = chunk
          continue
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
      if (length !== undefined) {
        if (read !== length || held === undefined) return req.destroy(new PackedLengthChanged(length, read))
        bytes += held.length
        req.write(held)
      }
      show(bytes, Date.now() - started, true)
      req.end()
    })
    // a failing packer fails the request; an early answer or a broken connection stops the packers
    body.once("error", (e) => req.destroy(e))
    req.on("error", (e) => {
      body.destroy()
      if (!answered || e instanceof PackedLengthChanged) reject(e)
    })
    req.once("close", () => {
      if (!ended) body.destroy()
    })
  })
}

/**
 * A DirectBody: the head goes first (flushed to the socket), then the packers write the body into the
 * socket themselves while this process only waits; it reads the answer once they are done. A tar of
 * another length than declared: shorter, the request is torn down (the daemon has no whole body); longer,
 * the daemon took exactly the declared bytes and accepts them only if they end with the tar's end block
 * (ADR 0820), so its 201 stands, and anything else is PackedLengthChanged. A packer that failed while
 * the daemon answered (a refusal closes the connection) leaves the answer as the outcome.
 */
const directBody = async (
  url: string,
  token: string,
  packed: DirectBody,
  show: (bytes: number, elapsedMs: number, done: boolean) => void,
  everyMs: number
): Promise<UploadResponse> => {
  const target = new URL(url)
  const transport = target.protocol === "https:" ? https : http
  const started = Date.now()
  let bytes = 0
  let lastShown = 0
  return new Promise<UploadResponse>((resolve, reject) => {
    let failure: Error | undefined
    let answered = false
    const req = transport.request(target, { method: "POST", headers: headersOf(token, packed) }, (res) => {
      answered = true
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (c: string) => (text = (text + c).slice(0, 1024 * 1024)))
      res.on("end", () => {
        const status = res.statusCode ?? 0
        if (failure instanceof PackedLengthChanged && status !== 201) reject(failure)
        else resolve({ status, body: text, bytes })
      })
      res.on("error", reject)
      res.on("aborted", () => reject(new Error("the daemon closed the connection mid-answer")))
    })
    req.on("error", (e) => {
      if (!answered) reject(failure ?? e)
    })
    req.once("close", () => {
      if (!answered) reject(failure ?? new Error("the daemon closed the connection without an answer"))
    })
    req.flushHeaders()
    req.once("socket", (socket) => {
      // an empty write completes after the head: the packers' bytes must follow it
      socket.write(Buffer.alloc(0), () => {
        packed.sendInto(socket, (n) => {
          bytes += n
          const now = Date.now()
          if (now - lastShown >= everyMs) {
            lastShown = now
            show(bytes, now - started, false)
          }
        }).then((written) => {
          socket.resume()
          bytes = written
          if (written !== packed.length) {
            failure = new PackedLengthChanged(packed.length, written)
            if (written < packed.length) req.destroy(failure)
            return
          }
          show(bytes, Date.now() - started, true)
          req.end()
        }, (e: unknown) => {
          failure = e instanceof Error ? e : new Error(String(e))
          // a refusal is read from the socket now; a daemon that went away fails the request
          socket.resume()
        })
      })
    })
  })
}

/**
 * `uploadStream` of `packed`; when a plain tar's length changed while it was packed (PackedLengthChanged:
 * nothing was accepted), `note` says so and the context goes once more, compressed and chunked, from
 * `again` with a fresh reporter from `reporter` (ADR 0820). The reporter of each try is finished.
 */
export const sendContext = async (
  url: string,
  token: string,
  packed: UploadBody,
  report: UploadReporter,
  again: (report: UploadReporter) => Promise<UploadBody>,
  reporter: () => UploadReporter,
  note: (message: string) => void
): Promise<UploadResponse> => {
  const first = await uploadStream(url, token, packed, report.show, report.everyMs).then(
    (answer) => answer,
    (e: unknown) => e instanceof PackedLengthChanged ? e : Promise.reject(e)
  ).finally(report.finish)
  if (!(first instanceof PackedLengthChanged)) return first
  note(`${first.message}; packing it again, compressed`)
  const second = reporter()
  const body = await again(second)
  return uploadStream(url, token, body, second.show, second.everyMs).finally(second.finish)
}
