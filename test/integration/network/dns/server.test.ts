/**
 * The embedded DNS server on 127.0.0.1 and random ports: zone answers from
 * `resolve` (A, NXDOMAIN, NOERROR/no data, TTL, case, no caching), UDP size
 * limits and truncation, TCP framing and limits, forwarding to a fake
 * loopback upstream (id rewriting, spoofed replies dropped, failover,
 * SERVFAIL, TCP retry of a truncated reply) and per-source rate limiting.
 */
import dnsPacket from "dns-packet"
import { Effect, Exit, Ref, Scope } from "effect"
import * as dgram from "node:dgram"
import { afterEach, describe, expect, it } from "vitest"
import { startDnsServer } from "../../../../src/network/dns/DnsServer.js"
import {
  fakeUpstream,
  frame,
  query,
  rcodeOf,
  start,
  type Started,
  tcpAsk,
  TcpClient,
  udpAsk,
  UdpClient,
  upstreamAnswer,
  withEdns
} from "./helpers.js"

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
const track = <T extends { close: () => Promise<void> | void }>(x: T): T => {
  cleanups.push(() => x.close())
  return x
}

const zone: Record<string, ReadonlyArray<string>> = {
  "web.shop.internal": ["10.89.0.5", "10.89.0.6"],
  "db.shop.internal": ["10.89.0.9"],
  "idle.shop.internal": []
}
const staticResolve = (fqdn: string) => Effect.succeed(zone[fqdn] ?? null)

const answersOf = (raw: Buffer): ReadonlyArray<dnsPacket.Answer> => dnsPacket.decode(raw).answers ?? []
const ips = (raw: Buffer): ReadonlyArray<string> => answersOf(raw).flatMap((a) => (a.type === "A" ? [a.data] : [])).sort()

describe("zone answers", () => {
  it("answers A records of a name of the zone, authoritative, with the client's id and a TTL of 5 s", async () => {
    const s: Started = track(await start({ resolve: staticResolve }))
    const q = query("web.shop.internal")
    const r = await udpAsk(s.server.port, q)
    const p = dnsPacket.decode(r)
    expect(p.id).toBe(dnsPacket.decode(q).id)
    expect(rcodeOf(r)).toBe("NOERROR")
    expect(p.flag_aa).toBe(true)
    expect(ips(r)).toEqual(["10.89.0.5", "10.89.0.6"])
    expect(answersOf(r).map((a) => ("ttl" in a ? a.ttl : -1))).toEqual([5, 5])
  })

  it("uses ttlSeconds and refuses a TTL above 5", async () => {
    const s = track(await start({ resolve: staticResolve, ttlSeconds: 2 }))
    const r = await udpAsk(s.server.port, query("db.shop.internal"))
    expect(answersOf(r).map((a) => ("ttl" in a ? a.ttl : -1))).toEqual([2])
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        startDnsServer({ address: "127.0.0.1", port: 0, zone: ".internal", upstreams: [], resolve: staticResolve, ttlSeconds: 6 })
      )
    )
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("ttlSeconds: must be an integer 0..5")
  })

  it("matches names case-insensitively and with a trailing dot, passing resolve the normalized name and echoing the question", async () => {
    const asked: Array<string> = []
    const s = track(await start({ resolve: (fqdn) => Effect.sync(() => asked.push(fqdn)).pipe(Effect.as(zone[fqdn] ?? null)) }))
    const r = await udpAsk(s.server.port, query("WeB.ShOp.INTERNAL."))
    expect(ips(r)).toEqual(["10.89.0.5", "10.89.0.6"])
    expect(dnsPacket.decode(r).questions?.[0]?.name).toBe("WeB.ShOp.INTERNAL")
    expect(asked).toEqual(["web.shop.internal"])
  })

  it("answers NXDOMAIN for unknown names of the zone and NOERROR without answers for AAAA or a name with no replicas", async () => {
    const s = track(await start({ resolve: staticResolve }))
    const nx = await udpAsk(s.server.port, query("nope.shop.internal"))
    expect(rcodeOf(nx)).toBe("NXDOMAIN")
    expect(dnsPacket.decode(nx).flag_aa).toBe(true)
    const aaaa = await udpAsk(s.server.port, query("web.shop.internal", "AAAA"))
    expect(rcodeOf(aaaa)).toBe("NOERROR")
    expect(answersOf(aaaa)).toEqual([])
    const idle = await udpAsk(s.server.port, query("idle.shop.internal"))
    expect([rcodeOf(idle), answersOf(idle).length]).toEqual(["NOERROR", 0])
  })

  it("asks resolve on every query, so a change is seen by the next query", async () => {
    const current = await Effect.runPromise(Ref.make<ReadonlyArray<string> | null>(["10.89.0.5"]))
    const s = track(await start({ resolve: () => Ref.get(current) }))
    expect(ips(await udpAsk(s.server.port, query("web.shop.internal")))).toEqual(["10.89.0.5"])
    await Effect.runPromise(Ref.set(current, ["10.89.0.7", "10.89.0.8"]))
    expect(ips(await udpAsk(s.server.port, query("web.shop.internal")))).toEqual(["10.89.0.7", "10.89.0.8"])
    await Effect.runPromise(Ref.set(current, null))
    expect(rcodeOf(await udpAsk(s.server.port, query("web.shop.internal")))).toBe("NXDOMAIN")
  })

  it("answers SERVFAIL when resolve fails, dies or throws, and leaves out addresses that are not IPv4", async () => {
    const s = track(
      await start({
        resolve: (fqdn) =>
          fqdn === "fail.shop.internal"
            ? Effect.fail("boom")
            : fqdn === "die.shop.internal"
            ? Effect.die(new Error("bug"))
            : fqdn === "throw.shop.internal"
            ? ((): never => {
              throw new Error("not an Effect")
            })()
            : Effect.succeed(["10.89.0.5", "not-an-ip", "::1", "10.89.0.5"])
      })
    )
    expect(rcodeOf(await udpAsk(s.server.port, query("fail.shop.internal")))).toBe("SERVFAIL")
    expect(rcodeOf(await udpAsk(s.server.port, query("die.shop.internal")))).toBe("SERVFAIL")
    expect(rcodeOf(await udpAsk(s.server.port, query("throw.shop.internal")))).toBe("SERVFAIL")
    expect(ips(await udpAsk(s.server.port, query("web.shop.internal")))).toEqual(["10.89.0.5"])
    expect(s.server.stats().servfail).toBe(3)
  })

  it("answers plain names (no dot) NXDOMAIN without forwarding them", async () => {
    const upstream = track(await fakeUpstream((q) => [upstreamAnswer(q, ["192.0.2.1"])]))
    const s = track(await start({ resolve: staticResolve, upstreams: [`127.0.0.1:${upstream.port}`] }))
    expect(rcodeOf(await udpAsk(s.server.port, query("web")))).toBe("NXDOMAIN")
    expect(upstream.seen).toEqual([])
  })
})

describe("UDP size limits", () => {
  const many = Array.from({ length: 20 }, (_, i) => `10.89.1.${i + 1}`)
  const lots = Array.from({ length: 60 }, (_, i) => `10.89.2.${i + 1}`)
  const resolve = (fqdn: string) => Effect.succeed(fqdn === "big.shop.internal" ? many : fqdn === "huge.shop.internal" ? lots : null)

  it("truncates answers above 512 bytes without EDNS (TC, no answers) and sends them whole over TCP", async () => {
    const s = track(await start({ resolve }))
    const r = await udpAsk(s.server.port, query("big.shop.internal"))
    expect(r.length).toBeLessThanOrEqual(512)
    expect(dnsPacket.decode(r).flag_tc).toBe(true)
    expect(answersOf(r)).toEqual([])
    const t = await tcpAsk(s.server.port, query("big.shop.internal"))
    expect(dnsPacket.decode(t).flag_tc).toBe(false)
    expect(ips(t).length).toBe(20)
    expect(s.server.stats().truncated).toBe(1)
  })

  it("honours an EDNS size up to 1232 bytes and answers with an OPT record", async () => {
    const s = track(await start({ resolve }))
    const r = await udpAsk(s.server.port, query("big.shop.internal", "A", withEdns(4096)))
    expect(r.length).toBeGreaterThan(512)
    expect(ips(r).length).toBe(20)
    expect((dnsPacket.decode(r).additionals ?? []).map((a) => a.type)).toEqual(["OPT"])
    const huge = await udpAsk(s.server.port, query("huge.shop.internal", "A", withEdns(4096)))
    expect(huge.length).toBeLessThanOrEqual(1232)
    expect(dnsPacket.decode(huge).flag_tc).toBe(true)
    expect(ips(await tcpAsk(s.server.port, query("huge.shop.internal"))).length).toBe(60)
  })
})

describe("TCP", () => {
  it("reads length-prefixed messages split across writes and several in one write", async () => {
    const s = track(await start({ resolve: staticResolve }))
    const client = track(new TcpClient(s.server.port))
    await client.connected()
    const a = query("web.shop.internal")
    const b = query("db.shop.internal")
    const c = query("nope.shop.internal")
    const bytes = frame(a)
    for (const byte of bytes) {
      client.socket.write(Buffer.from([byte]))
      await new Promise((r) => setImmediate(r))
    }
    client.socket.write(Buffer.concat([frame(b), frame(c)]))
    const got = await client.waitFor(3)
    const byId = new Map(got.map((m) => [dnsPacket.decode(m).id, m]))
    expect(ips(byId.get(dnsPacket.decode(a).id) ?? Buffer.alloc(0))).toEqual(["10.89.0.5", "10.89.0.6"])
    expect(ips(byId.get(dnsPacket.decode(b).id) ?? Buffer.alloc(0))).toEqual(["10.89.0.9"])
    expect(rcodeOf(byId.get(dnsPacket.decode(c).id) ?? Buffer.alloc(0))).toBe("NXDOMAIN")
  })

  it("closes a connection that sends a malformed message", async () => {
    const s = track(await start({ resolve: staticResolve }))
    const client = track(new TcpClient(s.server.port))
    client.socket.write(frame(Buffer.from("definitely not dns")))
    await client.waitClosed()
    expect(client.messages).toEqual([])
    expect(s.server.stats().malformed).toBe(1)
  })

  it("closes idle connections and refuses connections beyond the limit", async () => {
    const s = track(await start({ resolve: staticResolve, limits: { tcpIdleTimeoutMs: 100, tcpMaxConnections: 1 } }))
    const first = track(new TcpClient(s.server.port))
    first.socket.write(frame(query("db.shop.internal")))
    await first.waitFor(1)
    const second = track(new TcpClient(s.server.port))
    await second.waitClosed()
    expect(second.messages).toEqual([])
    await first.waitClosed()
    expect(first.messages.length).toBe(1)
  })
})

describe("forwarding", () => {
  it("forwards other names with a rewritten id and returns the reply under the client's id", async () => {
    const upstream = track(await fakeUpstream((q) => [upstreamAnswer(q, ["192.0.2.7"])]))
    const s = track(await start({ resolve: staticResolve, upstreams: [`127.0.0.1:${upstream.port}`] }))
    const q = query("Example.COM")
    const r = await udpAsk(s.server.port, q)
    expect(dnsPacket.decode(r).id).toBe(dnsPacket.decode(q).id)
    expect(ips(r)).toEqual(["192.0.2.7"])
    expect(upstream.seen.map((x) => x.name)).toEqual(["Example.COM"])
    expect(s.server.stats().forwarded).toBe(1)
    // Five queries under one client id: the upstream sees fresh random ids (all five equal by chance: 2^-80).
    const client = track(new UdpClient())
    for (let i = 0; i < 5; i++) {
      const same = query(`host${i}.example.com`)
      same.writeUInt16BE(0x1234, 0)
      expect(dnsPacket.decode(await client.ask(s.server.port, same)).id).toBe(0x1234)
    }
    expect(upstream.seen.slice(1).some((x) => x.id !== 0x1234)).toBe(true)
  })

  it("drops upstream replies whose id or question do not match and keeps waiting for the right one", async () => {
    const upstream = track(
      await fakeUpstream((q) => [
        upstreamAnswer(q, ["6.6.6.6"], { id: ((q.id ?? 0) + 1) % 65536 }),
        upstreamAnswer(q, ["6.6.6.7"], { questions: [{ type: "A", name: "evil.example", class: "IN" }] }),
        upstreamAnswer(q, ["6.6.6.8"], { questions: [{ type: "AAAA", name: q.questions?.[0]?.name ?? "", class: "IN" }] }),
        upstreamAnswer(q, ["192.0.2.8"])
      ])
    )
    const s = track(await start({ resolve: staticResolve, upstreams: [`127.0.0.1:${upstream.port}`] }))
    const r = await udpAsk(s.server.port, query("example.com"))
    expect(ips(r)).toEqual(["192.0.2.8"])
    expect(s.server.stats().upstreamMismatched).toBe(3)
  })

  it("answers SERVFAIL when the upstream does not answer in time, and fails over to the next upstream", async () => {
    const silent = track(await fakeUpstream(() => []))
    const good = track(await fakeUpstream((q) => [upstreamAnswer(q, ["192.0.2.9"])]))
    const alone = track(await start({ resolve: staticResolve, upstreams: [`127.0.0.1:${silent.port}`], limits: { forwardTimeoutMs: 150 } }))
    expect(rcodeOf(await udpAsk(alone.server.port, query("example.com")))).toBe("SERVFAIL")
    const both = track(
      await start({
        resolve: staticResolve,
        upstreams: [`127.0.0.1:${silent.port}`, `127.0.0.1:${good.port}`],
        limits: { forwardTimeoutMs: 150 }
      })
    )
    expect(ips(await udpAsk(both.server.port, query("example.com")))).toEqual(["192.0.2.9"])
  })

  it("answers SERVFAIL without upstreams, and when the upstream port is closed", async () => {
    const none = track(await start({ resolve: staticResolve }))
    expect(rcodeOf(await udpAsk(none.server.port, query("example.com")))).toBe("SERVFAIL")
    const gone = dgram.createSocket("udp4")
    await new Promise<void>((r) => gone.bind(0, "127.0.0.1", () => r()))
    const port = gone.address().port
    await new Promise<void>((r) => gone.close(() => r()))
    const s = track(await start({ resolve: staticResolve, upstreams: [`127.0.0.1:${port}`] }))
    expect(rcodeOf(await udpAsk(s.server.port, query("example.com")))).toBe("SERVFAIL")
  })

  it("passes a truncated upstream reply to a UDP client and refetches it over TCP for a TCP client", async () => {
    const many = Array.from({ length: 30 }, (_, i) => `192.0.2.${i + 1}`)
    const upstream = track(
      await fakeUpstream((q, transport) => [
        transport === "udp" ? upstreamAnswer(q, [], { flags: dnsPacket.TRUNCATED_RESPONSE }) : upstreamAnswer(q, many)
      ])
    )
    const s = track(await start({ resolve: staticResolve, upstreams: [`127.0.0.1:${upstream.port}`] }))
    const viaUdp = await udpAsk(s.server.port, query("big.example"))
    expect(dnsPacket.decode(viaUdp).flag_tc).toBe(true)
    const viaTcp = await tcpAsk(s.server.port, query("big.example"))
    expect(ips(viaTcp).length).toBe(30)
    expect(upstream.seen.map((x) => x.transport)).toEqual(["udp", "udp", "tcp"])
  })

  it("refuses a forwarding loop to itself and rejects malformed upstreams", async () => {
    const run = (upstreams: ReadonlyArray<string>) =>
      Effect.runPromiseExit(
        Effect.scoped(startDnsServer({ address: "127.0.0.1", port: 5399, zone: ".internal", upstreams, resolve: staticResolve }))
      )
    const loop = await run(["127.0.0.1:5399"])
    expect(Exit.isFailure(loop) && JSON.stringify(loop.cause)).toContain("forwarding loop")
    const bad = await run(["resolver.example"])
    expect(Exit.isFailure(bad) && JSON.stringify(bad.cause)).toContain("upstreams: \\\"resolver.example\\\" is not an address")
  })
})

describe("safety", () => {
  it("rate-limits each source with a token bucket (UDP)", async () => {
    const s = track(await start({ resolve: staticResolve, limits: { rateLimit: { perSecond: 0.001, burst: 5 } } }))
    const client = track(new UdpClient())
    for (let i = 0; i < 20; i++) client.send(s.server.port, query("db.shop.internal"))
    for (let i = 0; i < 100 && s.server.stats().received < 20; i++) await new Promise((r) => setTimeout(r, 10))
    await client.waitFor(5)
    const stats = s.server.stats()
    expect(stats.received).toBe(20)
    expect(stats.rateLimited).toBe(15)
    expect(stats.answered).toBe(5)
  })

  it("ignores responses, other opcodes and multi-question packets sent to it", async () => {
    const s = track(await start({ resolve: staticResolve }))
    const client = track(new UdpClient())
    const asResponse = dnsPacket.encode({ type: "response", id: 1, questions: [{ type: "A", name: "web.shop.internal" }] })
    const notify = query("web.shop.internal")
    notify.writeUInt16BE(notify.readUInt16BE(2) | (4 << 11), 2)
    const two = dnsPacket.encode({
      type: "query",
      id: 2,
      questions: [{ type: "A", name: "web.shop.internal" }, { type: "A", name: "db.shop.internal" }]
    })
    const none = dnsPacket.encode({ type: "query", id: 3, questions: [] })
    for (const bad of [asResponse, notify, two, none]) client.send(s.server.port, bad)
    const good = await client.ask(s.server.port, query("db.shop.internal"))
    expect(ips(good)).toEqual(["10.89.0.9"])
    expect(client.received.length).toBe(1)
    expect(s.server.stats().malformed).toBe(4)
  })

  it("fails with DnsBindError when the port is taken", async () => {
    const s = track(await start({ resolve: staticResolve }))
    const exit = await Effect.runPromiseExit(
      Effect.scoped(startDnsServer({ address: "127.0.0.1", port: s.server.port, zone: ".internal", upstreams: [], resolve: staticResolve }))
    )
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("denia/network/DnsBindError")
  })

  it("stops answering when its scope closes", async () => {
    const scope = await Effect.runPromise(Scope.make())
    const server = await Effect.runPromise(
      startDnsServer({ address: "127.0.0.1", port: 0, zone: ".internal", upstreams: [], resolve: staticResolve }).pipe(Scope.extend(scope))
    )
    expect(ips(await udpAsk(server.port, query("db.shop.internal")))).toEqual(["10.89.0.9"])
    await Effect.runPromise(Scope.close(scope, Exit.void))
    // The port is free again: another server binds it.
    const again = track(await start({ resolve: staticResolve, port: server.port }))
    expect(again.server.port).toBe(server.port)
  })
})

describe("slow lookups", () => {
  it("waits for an asynchronous resolve, and answers SERVFAIL when resolve takes longer than resolveTimeoutMs", async () => {
    const s = track(
      await start({
        resolve: (fqdn) => (fqdn === "slow.shop.internal" ? Effect.never : Effect.sleep("20 millis").pipe(Effect.as(["10.89.0.11"]))),
        limits: { resolveTimeoutMs: 150 }
      })
    )
    expect(ips(await udpAsk(s.server.port, query("later.shop.internal")))).toEqual(["10.89.0.11"])
    expect(rcodeOf(await udpAsk(s.server.port, query("slow.shop.internal")))).toBe("SERVFAIL")
    expect(ips(await tcpAsk(s.server.port, query("later.shop.internal")))).toEqual(["10.89.0.11"])
  })
})

describe("TCP limits", () => {
  it("answers every pipelined query when reading pauses at the per-connection limit", async () => {
    const s = track(
      await start({ resolve: () => Effect.sleep("2 millis").pipe(Effect.as(["10.89.0.12"])), limits: { tcpMaxInflightPerConnection: 2 } })
    )
    const client = track(new TcpClient(s.server.port))
    const queries = Array.from({ length: 40 }, (_, i) => query(`svc${i}.shop.internal`))
    client.socket.write(Buffer.concat(queries.map(frame)))
    const got = await client.waitFor(40)
    expect(got.length).toBe(40)
    expect(new Set(got.map((m) => dnsPacket.decode(m).id))).toEqual(new Set(queries.map((q) => dnsPacket.decode(q).id)))
  })

  it("closes a TCP connection whose source is over its rate limit", async () => {
    const s = track(await start({ resolve: staticResolve, limits: { rateLimit: { perSecond: 0.001, burst: 2 } } }))
    const client = track(new TcpClient(s.server.port))
    client.socket.write(Buffer.concat([1, 2, 3, 4].map(() => frame(query("db.shop.internal")))))
    await client.waitClosed()
    expect(client.messages.length).toBe(2)
    expect(s.server.stats().rateLimited).toBeGreaterThanOrEqual(1)
  })
})
