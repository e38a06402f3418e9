/** Loopback DNS clients, a scoped server and a fake upstream for the DNS server tests. */
import dnsPacket from "dns-packet"
import { Effect, Exit, Scope } from "effect"
import * as dgram from "node:dgram"
import * as net from "node:net"
import { type DnsServer, type DnsServerOptions, startDnsServer } from "../../../../src/network/dns/DnsServer.js"

export interface Started {
  readonly server: DnsServer
  readonly close: () => Promise<void>
}

/** Starts a server on 127.0.0.1 and a random port in its own scope. */
export const start = async (options: Partial<DnsServerOptions> & Pick<DnsServerOptions, "resolve">): Promise<Started> => {
  const scope = await Effect.runPromise(Scope.make())
  const server = await Effect.runPromise(
    startDnsServer({ address: "127.0.0.1", port: 0, zone: ".internal", upstreams: [], ...options }).pipe(Scope.extend(scope))
  )
  return { server, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

export const query = (name: string, type: dnsPacket.RecordType = "A", extra: Partial<dnsPacket.Packet> = {}): Buffer =>
  dnsPacket.encode({
    type: "query",
    id: Math.floor(Math.random() * 65536),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: "IN" }],
    ...extra
  })

export const withEdns = (size: number): Partial<dnsPacket.Packet> => ({
  additionals: [{ type: "OPT", name: ".", udpPayloadSize: size, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
})

export const rcodeOf = (raw: Buffer): string => {
  const p: object = dnsPacket.decode(raw)
  return "rcode" in p && typeof p.rcode === "string" ? p.rcode : "?"
}

/** A UDP client socket that collects every datagram it receives. */
export class UdpClient {
  readonly received: Array<Buffer> = []
  private readonly socket = dgram.createSocket("udp4")
  private waiters: Array<() => void> = []

  constructor() {
    this.socket.on("message", (msg) => {
      this.received.push(msg)
      for (const w of this.waiters.splice(0)) w()
    })
  }

  send(port: number, raw: Buffer): void {
    this.socket.send(raw, port, "127.0.0.1")
  }

  /** Waits until `n` datagrams have arrived in total (bounded by the test timeout). */
  async waitFor(n: number): Promise<ReadonlyArray<Buffer>> {
    while (this.received.length < n) await new Promise<void>((r) => this.waiters.push(r))
    return this.received
  }

  /** Sends `raw` and waits for the next datagram. */
  async ask(port: number, raw: Buffer): Promise<Buffer> {
    const n = this.received.length
    this.send(port, raw)
    const all = await this.waitFor(n + 1)
    return all[n] ?? Buffer.alloc(0)
  }

  close(): void {
    this.socket.close()
  }
}

export const udpAsk = async (port: number, raw: Buffer): Promise<Buffer> => {
  const client = new UdpClient()
  try {
    return await client.ask(port, raw)
  } finally {
    client.close()
  }
}

export const frame = (raw: Buffer): Buffer => {
  const length = Buffer.alloc(2)
  length.writeUInt16BE(raw.length, 0)
  return Buffer.concat([length, raw])
}

/** A TCP connection that splits the stream into DNS messages. */
export class TcpClient {
  readonly messages: Array<Buffer> = []
  closed = false
  private buffered: Buffer = Buffer.alloc(0)
  private waiters: Array<() => void> = []
  readonly socket: net.Socket

  constructor(port: number) {
    this.socket = net.connect({ host: "127.0.0.1", port })
    this.socket.on("error", () => undefined)
    this.socket.on("close", () => {
      this.closed = true
      this.wake()
    })
    this.socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk])
      while (this.buffered.length >= 2) {
        const size = this.buffered.readUInt16BE(0)
        if (this.buffered.length < size + 2) break
        this.messages.push(this.buffered.subarray(2, size + 2))
        this.buffered = this.buffered.subarray(size + 2)
      }
      this.wake()
    })
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  connected(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === "open") resolve()
      else this.socket.once("connect", () => resolve())
    })
  }

  async waitFor(n: number): Promise<ReadonlyArray<Buffer>> {
    while (this.messages.length < n && !this.closed) await new Promise<void>((r) => this.waiters.push(r))
    return this.messages
  }

  async waitClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r))
  }

  close(): void {
    this.socket.destroy()
  }
}

export const tcpAsk = async (port: number, raw: Buffer): Promise<Buffer> => {
  const client = new TcpClient(port)
  try {
    client.socket.write(frame(raw))
    const [first] = await client.waitFor(1)
    return first ?? Buffer.alloc(0)
  } finally {
    client.close()
  }
}

/** What a fake upstream does with each query it receives over UDP (or TCP): the datagrams to send back. */
export type UpstreamBehaviour = (q: dnsPacket.DecodedPacket, transport: "udp" | "tcp") => ReadonlyArray<Buffer>

export interface FakeUpstream {
  readonly port: number
  readonly seen: Array<{ readonly id: number; readonly name: string; readonly transport: "udp" | "tcp" }>
  close(): Promise<void>
}

/** A response to `q` answering `ip` for its name, with overrides for the spoofing tests. */
export const upstreamAnswer = (q: dnsPacket.DecodedPacket, ips: ReadonlyArray<string>, over: Partial<dnsPacket.Packet> = {}): Buffer => {
  const name = q.questions?.[0]?.name ?? ""
  return dnsPacket.encode({
    type: "response",
    id: q.id ?? 0,
    flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED,
    questions: q.questions ?? [],
    answers: ips.map((data) => ({ type: "A", name, class: "IN", ttl: 300, data })),
    ...over
  })
}

/** A fake upstream resolver on 127.0.0.1 (UDP and TCP on one port). */
export const fakeUpstream = async (behaviour: UpstreamBehaviour): Promise<FakeUpstream> => {
  const seen: FakeUpstream["seen"] = []
  const record = (raw: Buffer, transport: "udp" | "tcp"): dnsPacket.DecodedPacket => {
    const q = dnsPacket.decode(raw)
    seen.push({ id: q.id ?? 0, name: q.questions?.[0]?.name ?? "", transport })
    return q
  }
  for (let attempt = 0;; attempt++) {
    const udp = dgram.createSocket("udp4")
    udp.on("message", (msg, rinfo) => {
      for (const out of behaviour(record(msg, "udp"), "udp")) udp.send(out, rinfo.port, rinfo.address)
    })
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()))
    const port = udp.address().port
    const tcp = net.createServer((socket) => {
      let buffered: Buffer = Buffer.alloc(0)
      socket.on("error", () => undefined)
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk])
        if (buffered.length < 2 || buffered.length < buffered.readUInt16BE(0) + 2) return
        const raw = buffered.subarray(2, buffered.readUInt16BE(0) + 2)
        for (const out of behaviour(record(raw, "tcp"), "tcp")) socket.write(frame(out))
      })
    })
    const ok = await new Promise<boolean>((r) => {
      tcp.once("error", () => r(false))
      tcp.listen(port, "127.0.0.1", () => r(true))
    })
    if (!ok) {
      udp.close()
      if (attempt > 20) throw new Error("no free port for the fake upstream")
      continue
    }
    return {
      port,
      seen,
      close: () => new Promise<void>((r) => udp.close(() => tcp.close(() => r())))
    }
  }
}
