/**
 * A request body that goes from the connection into a kernel pipe without passing through the daemon
 * (ADR 0904). For a restore or an upload on a plain TCP or Unix connection with a declared length, the
 * handler stops Node reading the socket, takes what its parser had buffered already, and hands both to
 * `denia-init recv-pipe`: the helper tells the body's first bytes (what it is: zstd, gzip, plain tar),
 * then moves the buffered bytes and exactly the rest of the declared length from the socket into the
 * pipe with splice(2) — and, for an upload, into the stored copy with tee(2). Node never reads the socket
 * again: the response closes the connection (`Connection: close`). A TLS connection, a chunked body, no
 * helper, or a body someone started reading: `undefined`, and the caller reads the body as a stream.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { IncomingMessage } from "node:http"
import { Socket } from "node:net"
import type { Readable } from "node:stream"
import { TLSSocket } from "node:tls"
import { collect, exited, kill } from "./children.js"
import { helperHasMode } from "./helperModes.js"
import { openOsPipe } from "./osPipe.js"

/** The client closed the connection before the declared length arrived. */
export class BodyCutShort extends Error {
  readonly _tag = "BodyCutShort"
}

/** The client sent nothing for the API's idle timeout. */
export class BodyStalled extends Error {
  readonly _tag = "BodyStalled"
}

/** A body a child process reads from a pipe (the decompressor, or the tar gate). */
export interface PipeInput {
  /** The pipe's read end: give it to exactly one child, then call `release`. */
  readonly fd: number
  /** Closes the daemon's copy of the read end (idempotent). */
  readonly release: () => Promise<void>
  /** Resolves once the whole body moved into the pipe; rejects with BodyCutShort, BodyStalled or an Error. */
  readonly done: Promise<void>
  /** Stops moving the body (a refusal, a failure); idempotent. */
  readonly stop: () => void
}

export interface SplicedBody extends PipeInput {
  /** The body's first bytes (4, or all of a shorter body). */
  readonly head: Buffer
  /** The declared length. */
  readonly length: number
}

export interface TakeBodyOptions {
  /** The `denia-init` binary; without it (or without its recv-pipe mode) nothing is taken. */
  readonly helper: string | undefined
  /** A file opened for writing that gets a copy of every byte (an upload's stored copy). */
  readonly copyTo?: number
}

/** Whether a request's connection is one a child can read: plain TCP or Unix, still open. */
const plainSocket = (req: IncomingMessage): Socket | undefined => {
  const socket = req.socket
  return socket instanceof Socket && !(socket instanceof TLSSocket) && !socket.destroyed ? socket : undefined
}

/** The declared body length when the body is length-delimited (no transfer coding) and not empty. */
const declaredLength = (req: IncomingMessage): number | undefined => {
  if (req.headers["transfer-encoding"] !== undefined) return undefined
  const text = req.headers["content-length"]
  if (text === undefined || !/^[0-9]{1,16}$/.test(text)) return undefined
  const n = Number(text)
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}

/** Whether nothing has read from `req` yet (its bytes are all still in its buffer or on the wire). */
const untouched = (req: IncomingMessage): boolean =>
  !req.complete && !req.readableDidRead && req.readableFlowing !== true && req.listenerCount("data") === 0 &&
  req.listenerCount("readable") === 0

/**
 * Stops Node reading `req`'s socket and returns what its parser had already buffered. The parser
 * pushes body bytes into `req` and resumes the socket only when `req` asks for more (`_read`); that
 * request is silenced here, so once the socket is paused no byte of it is read by the daemon again.
 */
const detach = (req: IncomingMessage, socket: Socket): Buffer => {
  socket.pause()
  Reflect.set(req, "_read", () => undefined)
  const buffered: Array<Buffer> = []
  for (let chunk: unknown = req.read(); chunk !== null; chunk = req.read()) {
    buffered.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))
  }
  return Buffer.concat(buffered)
}

const readAll = (stream: Readable | null): Promise<Buffer> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    if (stream === null) return resolve(Buffer.alloc(0))
    stream.on("data", (c: Buffer) => chunks.push(c))
    stream.once("close", () => resolve(Buffer.concat(chunks)))
    stream.once("error", () => resolve(Buffer.concat(chunks)))
  })

const outcome = (child: ChildProcess, errors: () => string): Promise<void> =>
  exited(child).then((code) => {
    if (code === 0) return
    const why = errors() || `exited ${code ?? "on a signal"}`
    if (code === 3) throw new BodyCutShort(why)
    if (code === 4) throw new BodyStalled(why)
    throw new Error(`the body receiver failed: ${why}`)
  })

/** The request, its declared length and its socket when `body` passes the checks that can be made at once. */
const takeable = (body: Readable, helper: string | undefined) => {
  if (helper === undefined || !(body instanceof IncomingMessage) || !untouched(body)) return undefined
  const length = declaredLength(body)
  const socket = plainSocket(body)
  return length === undefined || socket === undefined ? undefined : { req: body, length, socket, helper }
}

/**
 * Whether `takeRequestBody` may take `body` (the checks it can make at once; the helper's mode is asked
 * there): a caller can skip preparing for it (an upload's copy file).
 */
export const mayTakeRequestBody = (body: Readable, helper: string | undefined): boolean => takeable(body, helper) !== undefined

/**
 * Takes over `body`'s bytes when it is a request that allows it (see above); `undefined` leaves it
 * untouched. Resolves once the body's head is known; the rest keeps moving while the caller's children
 * read `fd`.
 */
export const takeRequestBody = async (body: Readable, options: TakeBodyOptions): Promise<SplicedBody | undefined> => {
  const found = takeable(body, options.helper)
  if (found === undefined) return undefined
  const { helper, length, req, socket } = found
  if (!(await helperHasMode(helper, "recv-pipe"))) return undefined
  const pipe = await openOsPipe()
  if (pipe === undefined) return undefined
  // checked again: the awaits above gave other code a turn
  if (socket.destroyed || !untouched(req)) {
    await pipe.close()
    return undefined
  }
  const buffered = detach(req, socket)
  const rest = length - buffered.length
  // Node's idle timer no longer sees this connection's traffic: the helper applies that timeout itself
  const idleMs = Math.max(0, Math.floor(socket.timeout ?? 0))
  socket.setTimeout(0)
  const copy = options.copyTo === undefined ? [] : [options.copyTo]
  const child = spawn(
    helper,
    ["recv-pipe", "3", String(Math.max(0, rest)), String(idleMs), "4", ...(copy.length > 0 ? ["5"] : [])],
    {
      stdio: ["pipe", pipe.write, "pipe", socket, "pipe", ...copy]
    }
  )
  const errors = collect(child.stderr, 500)
  const done = outcome(child, errors)
  done.catch(() => undefined)
  child.stdin?.on("error", () => undefined)
  child.stdin?.end(buffered)
  const headRead = readAll(child.stdio[4] as Readable | null)
  await pipe.closeWrite()
  const stop = () => kill(child)
  const head = await Promise.race([headRead, done.then(() => headRead)]).catch(async (e: unknown) => {
    await pipe.close()
    throw e
  })
  if (head.length < Math.min(4, length)) {
    stop()
    await pipe.close()
    await done
    throw new BodyCutShort("the body ended before its first bytes")
  }
  return { head, length, fd: pipe.read, release: pipe.close, done, stop }
}
