import dnsPacket from "dns-packet"
import { describe, expect, it } from "vitest"
import { inZone, matchForward, normalizeName, parseQuery, udpLimit, withId, zoneAnswer } from "../../../../src/network/dns/message.js"

const q = (name: string, extra: Partial<dnsPacket.Packet> = {}) =>
  dnsPacket.encode({ type: "query", id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name, class: "IN" }], ...extra })
const opt = (size: number): dnsPacket.Answer => ({
  type: "OPT",
  name: ".",
  udpPayloadSize: size,
  extendedRcode: 0,
  ednsVersion: 0,
  flags: 0,
  flag_do: false,
  options: []
})

describe("names", () => {
  it("normalizes case and one trailing dot", () => {
    expect(normalizeName("Web.Shop.INTERNAL.")).toBe("web.shop.internal")
    expect(normalizeName("web.shop.internal")).toBe("web.shop.internal")
  })
  it("matches the zone and its subdomains only", () => {
    expect(inZone("web.shop.internal", ".internal")).toBe(true)
    expect(inZone("internal", ".internal")).toBe(true)
    expect(inZone("web.shop.internal", "internal")).toBe(true)
    expect(inZone("notinternal", ".internal")).toBe(false)
    expect(inZone("internal.example.com", ".internal")).toBe(false)
  })
})

describe("parseQuery", () => {
  it("reads id, RD, the question and the EDNS size", () => {
    const parsed = parseQuery(q("Web.Shop.Internal", { additionals: [opt(4096)] }))
    expect(parsed).toMatchObject({
      id: 7,
      recursionDesired: true,
      name: "Web.Shop.Internal",
      fqdn: "web.shop.internal",
      type: "A",
      klass: "IN",
      ednsUdpSize: 4096
    })
  })
  it("rejects responses, non-QUERY opcodes, answer sections and stray additionals", () => {
    expect(parseQuery(dnsPacket.encode({ type: "response", id: 1, questions: [{ type: "A", name: "a.b" }] }))).toBeNull()
    const status = q("a.b")
    status.writeUInt16BE(status.readUInt16BE(2) | (2 << 11), 2)
    expect(parseQuery(status)).toBeNull()
    expect(parseQuery(q("a.b", { answers: [{ type: "A", name: "a.b", data: "1.2.3.4" }] }))).toBeNull()
    expect(parseQuery(q("a.b", { additionals: [{ type: "A", name: "a.b", data: "1.2.3.4" }] }))).toBeNull()
    expect(parseQuery(q("a.b", { additionals: [opt(1232), opt(1232)] }))).toBeNull()
    expect(parseQuery(Buffer.alloc(11))).toBeNull()
  })
})

describe("sizes", () => {
  const parsed = (extra: Partial<dnsPacket.Packet> = {}) => {
    const p = parseQuery(q("web.shop.internal", extra))
    if (p === null) throw new Error("unparsed")
    return p
  }
  it("allows 512 bytes without EDNS and the advertised size clamped to 512..1232 with it", () => {
    expect(udpLimit(parsed())).toBe(512)
    expect(udpLimit(parsed({ additionals: [opt(100)] }))).toBe(512)
    expect(udpLimit(parsed({ additionals: [opt(1000)] }))).toBe(1000)
    expect(udpLimit(parsed({ additionals: [opt(65535)] }))).toBe(1232)
  })
  it("replaces an answer above the limit with a TC response carrying only the question", () => {
    const addresses = Array.from({ length: 40 }, (_, i) => `10.0.0.${i + 1}`)
    const small = zoneAnswer(parsed(), addresses, 5, 512)
    expect(small.truncated).toBe(true)
    const decoded = dnsPacket.decode(small.message)
    expect([decoded.flag_tc, decoded.answers?.length, decoded.questions?.length]).toEqual([true, 0, 1])
    const whole = zoneAnswer(parsed(), addresses, 5, null)
    expect([whole.truncated, dnsPacket.decode(whole.message).answers?.length]).toEqual([false, 40])
  })
})

describe("forward matching", () => {
  const query = parseQuery(q("Example.com"))
  if (query === null) throw new Error("unparsed")
  const reply = (id: number, name: string, type: dnsPacket.RecordType = "A") =>
    dnsPacket.encode({ type: "response", id, questions: [{ type, name, class: "IN" }] })
  it("accepts the same id and question (any case) and rejects anything else", () => {
    expect(matchForward(reply(99, "EXAMPLE.COM"), 99, query)).toEqual({ truncated: false })
    expect(matchForward(reply(98, "example.com"), 99, query)).toBeNull()
    expect(matchForward(reply(99, "example.org"), 99, query)).toBeNull()
    expect(matchForward(reply(99, "example.com", "AAAA"), 99, query)).toBeNull()
    expect(matchForward(q("example.com"), 7, query)).toBeNull()
    expect(matchForward(Buffer.from([1, 2, 3]), 99, query)).toBeNull()
  })
  it("rewrites the id on a copy", () => {
    const original = q("example.com")
    const copy = withId(original, 0xbeef)
    expect([copy.readUInt16BE(0), original.readUInt16BE(0)]).toEqual([0xbeef, 7])
  })
})

describe("questions that cannot be echoed", () => {
  const base = () => q("ab.internal")
  it("rejects a label holding a dot, bytes that are not UTF-8 and an unknown class", () => {
    expect(parseQuery(base())).not.toBeNull()
    const dotted = base()
    dotted[13 + 1] = 0x2e // "a.b" inside one label: would be echoed as two labels
    expect(parseQuery(dotted)).toBeNull()
    const binary = base()
    binary[13] = 0xff
    expect(parseQuery(binary)).toBeNull()
    const klass = base()
    klass.writeUInt16BE(77, klass.length - 2)
    expect(parseQuery(klass)).toBeNull()
  })
})
