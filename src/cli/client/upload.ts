/**
 * Streams a packed context to `POST /v1/services/{id}/uploads?deploy=true` (chunked: the compressed size
 * is not known up front; a plain tar for a daemon on this host goes with its length, ADR 0820) with progress: on a terminal a bar against the uncompressed tar size (known
 * from the listing) with the compressed bytes sent and their rate beside it; a plain line every few
 * seconds otherwise. Loaded lazily by the push command.
 */
import * as http from "node:http"
import * as https from "node:https"

import { formatBytes } from "../../domain/bytes.js"
import type { DirectPack, StreamedPack } from "./pack.js"
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

/** What `uploadStream` sends: a packed context (pack.ts), whichever packer made it. */
export type StreamedBody = Omit<StreamedPack, "packer">
export type DirectBody = Omit<DirectPack, "packer">
export type UploadBody = StreamedBody | DirectBody

/** `show` at most every `everyMs` (`tick`), and once at the end (`done`), with the time since it was made. */
const throttled = (show: (bytes: number, elapsedMs: number, done: boolean) => void, everyMs: number) => {
  const started = Date.now()
  let lastShown = 0
  return {
    tick: (bytes: number) => {
      const now = Date.now()
      if (now - lastShown >= everyMs) {
        lastShown = now
        show(bytes, now - started, false)
      }
    },
    done: (bytes: number) => show(bytes, Date.now() - started, true)
  }
}

/** The POST of `packed` to `url`; `onAnswer` gets the status and the answer's text (first MiB) once it ended. */
const postTo = (
  url: string,
  token: string,
  packed: UploadBody,
  onAnswer: (status: number, text: string) => void,
  onFailure: (e: Error) => void
): http.ClientRequest => {
  const target = new URL(url)
  const transport = target.protocol === "https:" ? https : http
  const headers: http.OutgoingHttpHeaders = {
    authorization: `Bearer ${token}`,
    "content-type": packed.format === "tar" ? "application/x-tar" : "application/octet-stream",
    ...(packed.length === undefined ? { "transfer-encoding": "chunked" } : { "content-length": String(packed.length) })
  }
  return transport.request(target, { method: "POST", headers }, (res) => {
    let text = ""
    res.setEncoding("utf8")
    res.on("data", (c: string) => (text = (text + c).slice(0, 1024 * 1024)))
    res.on("end", () => onAnswer(res.statusCode ?? 0, text))
    res.on("error", onFailure)
    res.on("aborted", () => onFailure(new Error("the daemon closed the connection mid-answer")))
  })
}

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

const relayBody = async (
  url: string,
  token: string,
  packed: StreamedBody,
  show: (bytes: number, elapsedMs: number, done: boolean) => void,
  everyMs: number
): Promise<UploadResponse> => {
  const body = packed.stream
  const length = packed.length
  const progress = throttled(show, everyMs)
  let bytes = 0
  return new Promise<UploadResponse>((resolve, reject) => {
    const req = postTo(url, token, packed, (status, text) => {
      resolve({ status, body: text, bytes })
      // answered before the body ended (a refusal): the rest is not wanted, the packers stop
      if (!ended) req.destroy()
    }, reject)
    req.once("response", () => (answered = true))
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
      progress.tick(bytes)
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
      progress.done(bytes)
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
  const progress = throttled(show, everyMs)
  let bytes = 0
  return new Promise<UploadResponse>((resolve, reject) => {
    let failure: Error | undefined
    let answered = false
    const req = postTo(url, token, packed, (status, text) => {
      if (failure instanceof PackedLengthChanged && status !== 201) reject(failure)
      else resolve({ status, body: text, bytes })
    }, reject)
    req.once("response", () => (answered = true))
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
        packed.sendInto(socket, (n) => progress.tick(bytes += n)).then((written) => {
          socket.resume()
          bytes = written
          if (written !== packed.length) {
            failure = new PackedLengthChanged(packed.length, written)
            if (written < packed.length) req.destroy(failure)
            return
          }
          progress.done(bytes)
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

/** The pack a push sends (prepack.ts's Prepack): its first try, its byte counts, and a compressed second. */
export interface UploadPacking {
  readonly packed: Promise<UploadBody>
  readonly onPacked: (report: (bytes: number) => void) => void
  readonly packCompressed: (onPacked: (bytes: number) => void) => Promise<UploadBody>
}

/**
 * `uploadStream` of `packing`'s pack with a reporter from `reporter`; when a plain tar's length changed
 * while it was packed (PackedLengthChanged: nothing was accepted), `note` says so and the context goes
 * once more, compressed and chunked, with a fresh reporter (ADR 0820). The reporter of each try is
 * finished.
 */
export const sendContext = async (
  url: string,
  token: string,
  packing: UploadPacking,
  reporter: () => UploadReporter,
  note: (message: string) => void
): Promise<UploadResponse> => {
  const report = reporter()
  packing.onPacked(report.packed)
  const first = await packing.packed.then((packed) => uploadStream(url, token, packed, report.show, report.everyMs)).then(
    (answer) => answer,
    (e: unknown) => e instanceof PackedLengthChanged ? e : Promise.reject(e)
  ).finally(report.finish)
  if (!(first instanceof PackedLengthChanged)) return first
  note(`${first.message}; packing it again, compressed`)
  const second = reporter()
  try {
    const body = await packing.packCompressed(second.packed)
    return await uploadStream(url, token, body, second.show, second.everyMs)
  } finally {
    second.finish()
  }
}
