/**
 * Forwarding names outside the zone to the upstream resolvers. Each forward
 * uses its own connected UDP socket (a fresh kernel-chosen source port, and
 * the kernel drops datagrams from any other address) and a random query id;
 * a reply counts only when its id and question match (others are dropped and
 * counted). Upstreams are tried in order, each for `timeoutMs`; a truncated
 * reply for a client that came over TCP is fetched again over TCP. At most
 * `maxInflight` forwards run at once.
 */
import * as crypto from "node:crypto"
import * as dgram from "node:dgram"
import * as net from "node:net"
import { matchForward, type Query, withId } from "./message.js"
import type { DnsStats } from "./stats.js"
import type { Upstream } from "./upstreams.js"

export interface ForwarderOptions {
  readonly upstreams: ReadonlyArray<Upstream>
  readonly timeoutMs: number
  readonly maxInflight: number
}

interface Reply {
  readonly raw: Buffer
  readonly truncated: boolean
}

const MAX_TCP_MESSAGE = 65535

export class Forwarder {
  private inflight = 0
  private closed = false
  private readonly aborts = new Set<() => void>()

  constructor(private readonly options: ForwarderOptions, private readonly stats: DnsStats) {}

  /** The upstream's reply to `raw` (with the client's id restored), or null: no upstream answered in time, or too many forwards in flight. */
  async forward(query: Query, raw: Buffer, clientOverTcp: boolean): Promise<Buffer | null> {
    if (this.closed || this.inflight >= this.options.maxInflight || this.options.upstreams.length === 0) return null
    this.inflight++
    this.stats.forwarded++
    try {
      for (const upstream of this.options.upstreams) {
        const reply = await this.viaUdp(upstream, raw, query)
        if (reply === null) continue
        if (!reply.truncated || !clientOverTcp) return withId(reply.raw, query.id)
        const full = await this.viaTcp(upstream, raw, query)
        if (full !== null) return withId(full.raw, query.id)
      }
      return null
    } finally {
      this.inflight--
    }
  }

  /** Aborts every forward in flight (they resolve to null) and refuses new ones. */
  close(): void {
    this.closed = true
    for (const abort of [...this.aborts]) abort()
  }

  private attempt(run: (finish: (reply: Reply | null) => void) => () => void): Promise<Reply | null> {
    if (this.closed) return Promise.resolve(null)
    return new Promise((resolve) => {
      let done = false
      let cleanup: () => void = () => undefined
      const finish = (reply: Reply | null): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        this.aborts.delete(abort)
        cleanup()
        resolve(reply)
      }
      const abort = (): void => finish(null)
      const timer = setTimeout(abort, this.options.timeoutMs)
      this.aborts.add(abort)
      cleanup = run(finish)
    })
  }

  private viaUdp(upstream: Upstream, raw: Buffer, query: Query): Promise<Reply | null> {
    return this.attempt((finish) => {
      const id = crypto.randomInt(0, 65536)
      const socket = dgram.createSocket(upstream.family === 6 ? "udp6" : "udp4")
      socket.on("error", () => finish(null))
      socket.on("message", (msg) => {
        const match = matchForward(msg, id, query)
        if (match === null) this.stats.upstreamMismatched++
        else finish({ raw: msg, truncated: match.truncated })
      })
      socket.connect(upstream.port, upstream.host, () => {
        socket.send(withId(raw, id), (err) => {
          if (err) finish(null)
        })
      })
      return () => {
        try {
          socket.close()
        } catch {
          // already closed after an error
        }
      }
    })
  }

  private viaTcp(upstream: Upstream, raw: Buffer, query: Query): Promise<Reply | null> {
    return this.attempt((finish) => {
      const id = crypto.randomInt(0, 65536)
      const message = withId(raw, id)
      const length = Buffer.alloc(2)
      length.writeUInt16BE(message.length, 0)
      let received: Buffer = Buffer.alloc(0)
      const socket = net.connect({ host: upstream.host, port: upstream.port }, () => {
        socket.write(Buffer.concat([length, message]))
      })
      socket.on("error", () => finish(null))
      socket.on("close", () => finish(null))
      socket.on("data", (chunk) => {
        received = Buffer.concat([received, chunk])
        if (received.length > MAX_TCP_MESSAGE + 2) return finish(null)
        if (received.length < 2) return
        const size = received.readUInt16BE(0)
        if (received.length < size + 2) return
        const reply = received.subarray(2, size + 2)
        const match = matchForward(reply, id, query)
        if (match === null) this.stats.upstreamMismatched++
        finish(match === null ? null : { raw: Buffer.from(reply), truncated: match.truncated })
      })
      return () => socket.destroy()
    })
  }
}
