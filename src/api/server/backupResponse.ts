/**
 * The body of `GET /v1/services/{id}/volumes/{name}/archive` (ADR 0903). On a plain TCP or Unix
 * connection the response head is written here, without a length and with `Connection: close` (the
 * body ends when the connection does, as HTTP/1.1 allows), and the archive goes from the producers
 * straight into the socket through `denia-init send-pipe` — the daemon never touches its bytes. Where
 * that is not possible (a TLS socket, no helper) the stream is relayed through the Node response the
 * same way. A failure after the head is out cuts the connection, as a failed stream did before: the
 * client sees a truncated body, never a complete-looking one.
 */
import { Effect } from "effect"
import type { ServerResponse } from "node:http"
import { Socket } from "node:net"
import type { Readable } from "node:stream"
import { TLSSocket } from "node:tls"
import type { VolumeIoError } from "../../volumes/errors.js"

export interface BackupBody {
  readonly headers: Readonly<Record<string, string>>
  readonly start: (sink?: Socket) => Effect.Effect<{ readonly stream: Readable; readonly direct: boolean }, VolumeIoError>
}

/** A connection whose descriptor a child can write: plain TCP or Unix, not TLS, still open. */
export const socketForChild = (res: ServerResponse): Socket | undefined => {
  const socket = res.socket
  return socket instanceof Socket && !(socket instanceof TLSSocket) && !socket.destroyed ? socket : undefined
}

/** Writes the head (close-delimited body) and waits until it has left for the kernel. */
const sendHead = (res: ServerResponse, socket: Socket, headers: Readonly<Record<string, string>>) =>
  Effect.async<void, Error>((resume) => {
    res.useChunkedEncodingByDefault = false
    res.shouldKeepAlive = false
    res.writeHead(200, { ...headers, connection: "close" })
    res.flushHeaders()
    socket.write(Buffer.alloc(0), (e) => resume(e === undefined || e === null ? Effect.void : Effect.fail(e)))
  })

/** Resolves when `stream` ends; with `into`, its bytes are written there first. */
const finish = (stream: Readable, into: ServerResponse | undefined) =>
  Effect.async<void, Error>((resume) => {
    const done = (e?: Error) => {
      stream.off("end", onEnd)
      stream.off("error", done)
      stream.off("close", onClose)
      resume(e === undefined ? Effect.void : Effect.fail(e))
    }
    const onEnd = () => done()
    const onClose = () => done(new Error("the backup stopped before its end"))
    stream.once("end", onEnd)
    stream.once("error", done)
    stream.once("close", onClose)
    if (into === undefined) stream.resume()
    else stream.pipe(into, { end: false })
    return Effect.sync(() => stream.destroy())
  })

/** Streams the backup on `socket`; resolves once the response is over (complete, or cut). */
export const sendBackup = (res: ServerResponse, socket: Socket, body: BackupBody) =>
  Effect.gen(function*() {
    yield* sendHead(res, socket, body.headers)
    const started = yield* body.start(socket)
    // the helper writes the socket now, unseen by Node's idle timer: it applies that timeout itself
    if (started.direct) socket.setTimeout(0)
    yield* finish(started.stream, started.direct ? undefined : res)
    res.end()
  }).pipe(
    Effect.catchAll((e) =>
      Effect.zipRight(
        Effect.logWarning("volume backup ended early", e),
        Effect.sync(() => {
          socket.destroy()
          res.end()
        })
      )
    ),
    Effect.onInterrupt(() => Effect.sync(() => socket.destroy()))
  )
