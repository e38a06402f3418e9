/**
 * The handler against a corpus of hostile messages (crafted cases plus
 * seeded random bytes and mutations): it never throws, answers only
 * single-question queries (checked against an independent header reading),
 * and never answers UDP above 512 bytes without EDNS or 1232 with it.
 */
import dnsPacket from "dns-packet"
import { Effect, Runtime } from "effect"
import { describe, expect, it } from "vitest"
import { Forwarder } from "../../../../src/network/dns/forwarder.js"
import { makeHandler, type Transport } from "../../../../src/network/dns/handler.js"
import { RateLimiter } from "../../../../src/network/dns/rateLimit.js"
import { emptyStats } from "../../../../src/network/dns/stats.js"
import { craftedCases, hasOpt, mayBeAnswered, randomCases } from "./corpus.js"

const big = Array.from({ length: 100 }, (_, i) => `10.89.3.${i + 1}`)

const handlerFor = () => {
  const stats = emptyStats()
  const handler = makeHandler({
    zone: ".internal",
    resolve: (fqdn) => Effect.succeed(fqdn === "web.shop.internal" ? big : fqdn === "db.shop.internal" ? ["10.89.0.9"] : null),
    runtime: Runtime.defaultRuntime,
    ttlSeconds: 5,
    resolveTimeoutMs: 1000,
    forwarder: new Forwarder({ upstreams: [], timeoutMs: 100, maxInflight: 8 }, stats),
    limiter: new RateLimiter({ perSecond: 1e9, burst: 1e9 }),
    stats,
    onFailure: () => undefined
  })
  return { handler, stats }
}

const check = async (bytes: Buffer, transport: Transport, handler: ReturnType<typeof handlerFor>["handler"]) => {
  const outcome = await handler(bytes, "127.0.0.1", transport)
  if (typeof outcome === "string") return outcome
  expect(mayBeAnswered(bytes)).toBe(true)
  if (transport === "udp") expect(outcome.length).toBeLessThanOrEqual(hasOpt(bytes) ? 1232 : 512)
  const decoded = dnsPacket.decode(outcome)
  expect(decoded.type).toBe("response")
  expect(decoded.id).toBe(bytes.readUInt16BE(0))
  return "answered"
}

describe("fuzz", () => {
  it("survives the crafted corpus over UDP and TCP, answering only what it may", async () => {
    const { handler, stats } = handlerFor()
    const outcomes = new Map<string, string>()
    for (const c of craftedCases()) {
      for (const transport of ["udp", "tcp"] as const) outcomes.set(`${c.label}/${transport}`, await check(c.bytes, transport, handler))
    }
    for (
      const dropped of [
        "pointer to itself",
        "two pointers pointing at each other",
        "huge counts",
        "zero questions",
        "two questions",
        "response sent as a query",
        "opcode STATUS",
        "opcode UPDATE",
        "two OPT records",
        "name longer than 255",
        "empty",
        "truncated to 11"
      ]
    ) {
      expect(outcomes.get(`${dropped}/udp`), dropped).toBe("malformed")
    }
    for (const answered of ["query for AXFR", "EDNS 65535 with DO", "forwarded name", "query for ANY", "oversized datagram"]) {
      expect(outcomes.get(`${answered}/udp`), answered).toBe("answered")
    }
    expect(stats.truncated).toBeGreaterThan(0)
  })

  it("survives 4000 random packets and mutations", async () => {
    const { handler, stats } = handlerFor()
    const corpus = randomCases(17, 4000)
    for (const c of corpus) await check(c.bytes, c.label.length % 2 === 0 ? "udp" : "tcp", handler)
    expect(stats.received).toBe(corpus.length)
    expect(stats.malformed + stats.answered).toBe(corpus.length)
  })
})
