/**
 * Hostile traffic against a running server: the fuzz corpus over UDP and
 * over TCP (one connection per message), and an upstream that answers with
 * garbage. The server keeps answering valid queries afterwards, never sends
 * an oversized UDP answer and never answers what is not a query.
 */
import dnsPacket from "dns-packet"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { craftedCases, hasOpt, mayBeAnswered, randomCases } from "../../../unit/network/dns/corpus.js"
import { fakeUpstream, frame, query, rcodeOf, start, type Started, TcpClient, udpAsk, UdpClient } from "./helpers.js"

let s: Started
beforeAll(async () => {
  s = await start({
    resolve: (fqdn) => Effect.succeed(fqdn === "db.shop.internal" ? ["10.89.0.9"] : null),
    limits: { rateLimit: { perSecond: 1e9, burst: 1e9 } }
  })
})
afterAll(() => s.close())

const alive = async () => {
  const r = await udpAsk(s.server.port, query("db.shop.internal"))
  expect(rcodeOf(r)).toBe("NOERROR")
}

describe("fuzzing a running server", () => {
  it("takes the corpus over UDP and answers only single-question queries, within the size limit", async () => {
    const corpus = [...craftedCases(), ...randomCases(99, 1500)].filter((c) => c.bytes.length <= 65507)
    const client = new UdpClient()
    try {
      const before = s.server.stats()
      const sent = new Map<number, Buffer>()
      const pause = () => new Promise((r) => setTimeout(r, 5))
      // Batches, so that neither receive buffer overflows on the loaded test machine.
      for (let i = 0; i < corpus.length; i += 50) {
        for (const c of corpus.slice(i, i + 50)) {
          client.send(s.server.port, c.bytes)
          if (c.bytes.length >= 2) sent.set(c.bytes.readUInt16BE(0), c.bytes)
        }
        const target = Math.min(corpus.length, i + 50)
        for (let n = 0; n < 400 && s.server.stats().received - before.received < target; n++) await pause()
        for (let n = 0; n < 400 && client.received.length < s.server.stats().answered - before.answered; n++) await pause()
      }
      const after = s.server.stats()
      expect(after.received - before.received).toBe(corpus.length)
      expect(client.received.length).toBe(after.answered - before.answered)
      for (const r of client.received) {
        const id = r.readUInt16BE(0)
        const q = sent.get(id)
        expect(q === undefined ? false : mayBeAnswered(q)).toBe(true)
        expect(r.length).toBeLessThanOrEqual(q !== undefined && hasOpt(q) ? 1232 : 512)
      }
      expect(after.malformed - before.malformed).toBeGreaterThan(0)
      await alive()
    } finally {
      client.close()
    }
  })

  it("takes the crafted corpus over TCP", async () => {
    for (const c of craftedCases().filter((x) => x.bytes.length <= 65535)) {
      const client = new TcpClient(s.server.port)
      client.socket.write(frame(c.bytes))
      client.socket.write(frame(query("db.shop.internal")))
      const got = await client.waitFor(2)
      for (const m of got) expect(dnsPacket.decode(m).type).toBe("response")
      client.close()
    }
    // A length prefix announcing more than ever arrives, then a half-close.
    const partial = new TcpClient(s.server.port)
    partial.socket.end(Buffer.from([0xff, 0xff, 1, 2, 3]))
    await partial.waitClosed()
    await alive()
  })

  it("survives an upstream that answers with garbage, and answers SERVFAIL", async () => {
    const garbage = [...craftedCases().map((c) => c.bytes), ...randomCases(5, 50).map((c) => c.bytes)]
    const upstream = await fakeUpstream(() => garbage)
    const fwd = await start({
      resolve: () => Effect.succeed(null),
      upstreams: [`127.0.0.1:${upstream.port}`],
      limits: { forwardTimeoutMs: 200 }
    })
    try {
      const r = await udpAsk(fwd.server.port, query("example.com"))
      expect(rcodeOf(r)).toBe("SERVFAIL")
      expect(fwd.server.stats().upstreamMismatched).toBeGreaterThan(0)
    } finally {
      await fwd.close()
      await upstream.close()
    }
    await alive()
  })
})
