/**
 * The TCP side (RFC 7766): 2-byte length framing, several queries per
 * connection answered as they complete, at most `maxInflightPerConnection`
 * outstanding per connection (reading pauses beyond that), at most
 * `maxConnections` at once, idle connections closed after `idleTimeoutMs`,
 * a connection that sends a malformed message or exceeds its rate limit is
 * ended (responses already written still go out), one that stops reading
 * its responses is dropped.
 */
import * as net from "node:net"
import type { Handler, Outcome } from "./handler.js"

export interface TcpLimits {
  readonly maxConnections: number
  readonly idleTimeoutMs: number
  readonly maxInflightPerConnection: number
}

export interface TcpListener {
  readonly port: number
  close(): Promise<void>
}

/** Unread responses a client may leave queued before it is disconnected. */
const MAX_PENDING_WRITE = 1 << 20

const serve = (socket: net.Socket, handler: Handler, limits: TcpLimits, isClosed: () => boolean): void => {
  const source = socket.remoteAddress ?? ""
  let buffered: Buffer = Buffer.alloc(0)
  let inflight = 0
  let paused = false
  let draining = false
  let closing = false
  socket.setNoDelay(true)
  socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy())
  socket.on("error", () => socket.destroy())

  const frame = (message: Buffer): Buffer => {
    const length = Buffer.alloc(2)
    length.writeUInt16BE(message.length, 0)
    return Buffer.concat([length, message])
  }

  // Responses already written are still delivered; nothing more is read.
  const shut = (): void => {
    closing = true
    buffered = Buffer.alloc(0)
    socket.resume()
    socket.end()
  }

  const reply = (outcome: Outcome): void => {
    inflight--
    if (isClosed() || socket.destroyed || closing) return
    if (typeof outcome === "string") return shut()
    socket.write(frame(outcome))
    if (socket.writableLength > MAX_PENDING_WRITE) return void socket.destroy()
    if (paused && !draining) drain()
  }

  const drain = (): void => {
    draining = true
    while (!socket.destroyed && !closing && buffered.length >= 2 && inflight < limits.maxInflightPerConnection) {
      const size = buffered.readUInt16BE(0)
      if (buffered.length < size + 2) break
      const message = Buffer.from(buffered.subarray(2, size + 2))
      buffered = buffered.subarray(size + 2)
      inflight++
      const outcome = handler(message, source, "tcp")
      if (outcome instanceof Promise) void outcome.then(reply)
      else reply(outcome)
    }
    const full = inflight >= limits.maxInflightPerConnection
    if (full && !paused) socket.pause()
    if (!full && paused) socket.resume()
    paused = full
    draining = false
  }

  socket.on("data", (chunk: Buffer) => {
    if (closing) return
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
    drain()
  })
}

export const listenTcp = (address: string, port: number, handler: Handler, limits: TcpLimits): Promise<TcpListener> =>
  new Promise((resolve, reject) => {
    const connections = new Set<net.Socket>()
    let closed = false
    const server = net.createServer((socket) => {
      connections.add(socket)
      socket.on("close", () => connections.delete(socket))
      serve(socket, handler, limits, () => closed)
    })
    server.maxConnections = limits.maxConnections
    server.once("error", reject)
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off("error", reject)
      server.on("error", () => undefined)
      const bound = server.address()
      resolve({
        port: typeof bound === "object" && bound !== null ? bound.port : port,
        close: () =>
          new Promise((done) => {
            closed = true
            for (const socket of connections) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })
