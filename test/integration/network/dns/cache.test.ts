/**
 * The wire response cache (`zoneVersion`): a repeated zone query is answered
 * without asking `resolve`, with the query's own ID and question; a new
 * version empties the cache at once; EDNS and non-EDNS queries, truncated
 * answers, SERVFAIL and other types are kept apart or not cached.
 */
import dnsPacket from "dns-packet"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { query, rcodeOf, start, type Started, tcpAsk, udpAsk, withEdns } from "./helpers.js"

const answers = (raw: Buffer) => {
  const p = dnsPacket.decode(raw)
  return (p.answers ?? []).flatMap((a) => (a.type === "A" ? [a.data] : []))
}

describe("DNS response cache", () => {
  let s: Started
  let table = new Map<string, ReadonlyArray<string>>([["db.shop.internal", ["10.89.0.9"]]])
  let calls = 0
  let failing = false
  beforeAll(async () => {
    s = await start({
      resolve: (fqdn) =>
        Effect.suspend(() => {
          calls++
          return failing ? Effect.fail("broken") : Effect.succeed(table.get(fqdn) ?? null)
        }),
      zoneVersion: () => table,
      limits: { rateLimit: { perSecond: 1e9, burst: 1e9 } }
    })
  })
  afterAll(() => s.close())

  it("answers a repeated query from the cache, with the query's ID and question", async () => {
    calls = 0
    const first = await udpAsk(s.server.port, query("db.shop.internal"))
    expect(answers(first)).toEqual(["10.89.0.9"])
    const q = query("db.shop.internal")
    const again = await udpAsk(s.server.port, q)
    expect(calls).toBe(1)
    expect(again.readUInt16BE(0)).toBe(q.readUInt16BE(0))
    expect(answers(again)).toEqual(["10.89.0.9"])
    expect(dnsPacket.decode(again).questions).toEqual(dnsPacket.decode(q).questions)
    // another case of the name, another transport, EDNS: separate entries (each asks once)
    await udpAsk(s.server.port, query("DB.shop.internal"))
    await tcpAsk(s.server.port, query("db.shop.internal"))
    await udpAsk(s.server.port, query("db.shop.internal", "A", withEdns(1232)))
    expect(calls).toBe(4)
    // NXDOMAIN is cached too
    expect(rcodeOf(await udpAsk(s.server.port, query("nothing.shop.internal")))).toBe("NXDOMAIN")
    expect(rcodeOf(await udpAsk(s.server.port, query("nothing.shop.internal")))).toBe("NXDOMAIN")
    expect(calls).toBe(5)
  })

  it("forgets everything the moment the zone's version changes", async () => {
    table = new Map([["db.shop.internal", ["10.89.0.10", "10.89.0.11"]], ["nothing.shop.internal", ["10.89.0.12"]]])
    calls = 0
    expect(answers(await udpAsk(s.server.port, query("db.shop.internal"))).sort()).toEqual(["10.89.0.10", "10.89.0.11"])
    expect(answers(await udpAsk(s.server.port, query("nothing.shop.internal")))).toEqual(["10.89.0.12"])
    expect(calls).toBe(2)
  })

  it("never caches a SERVFAIL", async () => {
    table = new Map([["db.shop.internal", ["10.89.0.9"]]])
    failing = true
    calls = 0
    expect(rcodeOf(await udpAsk(s.server.port, query("db.shop.internal")))).toBe("SERVFAIL")
    failing = false
    expect(answers(await udpAsk(s.server.port, query("db.shop.internal")))).toEqual(["10.89.0.9"])
    expect(calls).toBe(2)
  })

  it("never caches a truncated answer", async () => {
    const many = Array.from({ length: 60 }, (_, i) => `10.89.1.${i + 1}`)
    table = new Map([["big.shop.internal", many]])
    calls = 0
    const tc = (raw: Buffer) => (dnsPacket.decode(raw).flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE
    expect(tc(await udpAsk(s.server.port, query("big.shop.internal")))).not.toBe(0)
    expect(tc(await udpAsk(s.server.port, query("big.shop.internal")))).not.toBe(0)
    expect(calls).toBe(2)
    expect(answers(await tcpAsk(s.server.port, query("big.shop.internal")))).toHaveLength(60)
  })
})
