/**
 * The replica connection both upstream clients read from: a Unix socket that
 * looks at the first response head of the connection (and heads after a 1xx)
 * before the strict HTTP parser does (ADR 0502). A CRLF head goes through
 * untouched and the socket stops looking; a bare-LF head is checked and
 * rewritten (`upstreamHead.ts`); a hostile head destroys the connection with
 * `UpstreamHeadError`, which the proxy answers with 502.
 */
import * as net from "node:net"
import { type HeadScan, scanHead } from "./upstreamHead.js"

/** The replica's response head was refused before parsing (the reason names what was wrong). */
export class UpstreamHeadError extends Error {
  override readonly name = "UpstreamHeadError"
  constructor(readonly reason: string) {
    super(`upstream parse error: ${reason}`)
  }
}

export class LenientHeadSocket extends net.Socket {
  #held: Buffer | undefined = undefined
  #passThrough = false

  /** Node's stream layer calls `push` with every chunk read from the handle. */
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (this.#passThrough || !(chunk instanceof Uint8Array)) {
      if (chunk === null && this.#held !== undefined) {
        const rest = this.#held
        this.#held = undefined
        super.push(rest)
      }
      return super.push(chunk, encoding)
    }
    const buf = this.#held === undefined
      ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      : Buffer.concat([this.#held, chunk])
    this.#held = undefined
    return this.#consume(buf)
  }

  #consume(input: Buffer): boolean {
    let buf = input
    for (;;) {
      const scan: HeadScan = scanHead(buf)
      switch (scan.kind) {
        case "incomplete":
          this.#held = buf
          return true
        case "strict":
          this.#passThrough = true
          return super.push(buf)
        case "invalid":
          this.#passThrough = true
          this.destroy(new UpstreamHeadError(scan.reason))
          return false
        case "lenient": {
          const rest = buf.subarray(scan.end)
          if (!scan.informational) {
            this.#passThrough = true
            return super.push(rest.length === 0 ? scan.head : Buffer.concat([scan.head, rest]))
          }
          super.push(scan.head)
          if (rest.length === 0) return true
          buf = rest
        }
      }
    }
  }
}

/** Opens a replica connection; exactly one of `onConnect` / `onError` is called (undici's `connect` option). */
export const connectReplica = (
  socketPath: string,
  onConnect: (socket: LenientHeadSocket) => void,
  onError: (err: Error) => void
): void => {
  const socket = new LenientHeadSocket()
  const failed = (err: Error) => onError(err)
  socket.once("error", failed)
  socket.connect(socketPath, () => {
    socket.off("error", failed)
    onConnect(socket)
  })
}

/** A connection that is returned at once and connects in the background (`http.Agent#createConnection`). */
export const replicaSocket = (socketPath: string): LenientHeadSocket => new LenientHeadSocket().connect(socketPath)
