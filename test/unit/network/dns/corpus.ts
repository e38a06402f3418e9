/** A deterministic corpus of hostile DNS messages for the fuzz tests (seeded PRNG, no randomness between runs). */
import dnsPacket from "dns-packet"

export const prng = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const header = (id: number, flags: number, qd: number, an: number, ns: number, ar: number): Buffer => {
  const b = Buffer.alloc(12)
  b.writeUInt16BE(id, 0)
  b.writeUInt16BE(flags, 2)
  b.writeUInt16BE(qd, 4)
  b.writeUInt16BE(an, 6)
  b.writeUInt16BE(ns, 8)
  b.writeUInt16BE(ar, 10)
  return b
}
const typeClass = Buffer.from([0, 1, 0, 1])

const valid = (name: string, type: dnsPacket.RecordType = "A", edns = false): Buffer =>
  dnsPacket.encode({
    type: "query",
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: "IN" }],
    additionals: edns
      ? [{ type: "OPT", name: ".", udpPayloadSize: 65535, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: true, options: [] }]
      : []
  })

export interface Case {
  readonly label: string
  readonly bytes: Buffer
}

/** Hand-made hostile packets: compression loops, huge counts, wrong shapes. */
export const craftedCases = (): ReadonlyArray<Case> => {
  const q = valid("web.shop.internal")
  const cases: Array<Case> = [
    { label: "empty", bytes: Buffer.alloc(0) },
    { label: "one byte", bytes: Buffer.from([0]) },
    { label: "header only, qd=0", bytes: header(1, 0x0100, 0, 0, 0, 0) },
    { label: "header only, qd=1", bytes: header(1, 0x0100, 1, 0, 0, 0) },
    { label: "pointer to itself", bytes: Buffer.concat([header(2, 0x0100, 1, 0, 0, 0), Buffer.from([0xc0, 12]), typeClass]) },
    {
      label: "two pointers pointing at each other",
      bytes: Buffer.concat([header(3, 0x0100, 1, 0, 0, 0), Buffer.from([0xc0, 14, 0xc0, 12]), typeClass])
    },
    { label: "forward pointer", bytes: Buffer.concat([header(4, 0x0100, 1, 0, 0, 0), Buffer.from([0xc0, 40]), typeClass]) },
    { label: "pointer past the end", bytes: Buffer.concat([header(5, 0x0100, 1, 0, 0, 0), Buffer.from([0xff, 0xff]), typeClass]) },
    { label: "reserved label type 0x40", bytes: Buffer.concat([header(6, 0x0100, 1, 0, 0, 0), Buffer.from([0x41, 0x61, 0]), typeClass]) },
    { label: "label longer than the packet", bytes: Buffer.concat([header(7, 0x0100, 1, 0, 0, 0), Buffer.from([63, 0x61, 0x62])]) },
    {
      label: "name longer than 255",
      bytes: Buffer.concat([
        header(8, 0x0100, 1, 0, 0, 0),
        ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)])),
        Buffer.from([0]),
        typeClass
      ])
    },
    { label: "huge counts", bytes: Buffer.concat([header(9, 0x0100, 65535, 65535, 65535, 65535), q.subarray(12)]) },
    { label: "qd=1 with 65535 answers announced", bytes: Buffer.concat([header(10, 0x0100, 1, 65535, 0, 0), q.subarray(12)]) },
    { label: "zero questions", bytes: dnsPacket.encode({ type: "query", id: 11, questions: [] }) },
    {
      label: "two questions",
      bytes: dnsPacket.encode({
        type: "query",
        id: 12,
        questions: [{ type: "A", name: "a.shop.internal" }, { type: "A", name: "example.com" }]
      })
    },
    {
      label: "response sent as a query",
      bytes: dnsPacket.encode({
        type: "response",
        id: 13,
        questions: [{ type: "A", name: "web.shop.internal" }],
        answers: [{ type: "A", name: "web.shop.internal", data: "1.2.3.4" }]
      })
    },
    { label: "opcode STATUS", bytes: Buffer.concat([header(14, 0x1100, 1, 0, 0, 0), q.subarray(12)]) },
    { label: "opcode UPDATE", bytes: Buffer.concat([header(15, 0x2800, 1, 0, 0, 0), q.subarray(12)]) },
    {
      label: "two OPT records",
      bytes: Buffer.concat([
        header(16, 0x0100, 1, 0, 0, 2),
        valid("web.shop.internal", "A", true).subarray(12),
        valid("x", "A", true).subarray(12 + 7)
      ])
    },
    { label: "query for AXFR", bytes: valid("shop.internal", "AXFR") },
    { label: "query for ANY", bytes: valid("web.shop.internal", "ANY" as dnsPacket.RecordType) },
    { label: "EDNS 65535 with DO", bytes: valid("web.shop.internal", "A", true) },
    { label: "root name", bytes: valid(".") },
    { label: "forwarded name", bytes: valid("example.com") },
    { label: "oversized datagram", bytes: Buffer.concat([q, Buffer.alloc(4000, 0xc0)]) }
  ]
  for (let n = 0; n < q.length; n++) cases.push({ label: `truncated to ${n}`, bytes: q.subarray(0, n) })
  return cases
}

/** Random bytes of random lengths, and random byte mutations of valid queries. */
export const randomCases = (seed: number, count: number): ReadonlyArray<Case> => {
  const rand = prng(seed)
  const seeds = [valid("web.shop.internal"), valid("example.com", "AAAA"), valid("db.shop.internal", "A", true)]
  const cases: Array<Case> = []
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      const bytes = Buffer.alloc(Math.floor(rand() * 600))
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256)
      // Half of them get a plausible header so they reach the question parser.
      if (i % 4 === 0 && bytes.length >= 12) {
        header(i & 0xffff, 0x0100, 1 + Math.floor(rand() * 3), Math.floor(rand() * 2), 0, Math.floor(rand() * 2)).copy(bytes)
      }
      cases.push({ label: `random ${i}`, bytes })
    } else {
      const base = seeds[i % seeds.length] ?? Buffer.alloc(0)
      const bytes = Buffer.from(base)
      const flips = 1 + Math.floor(rand() * 4)
      for (let f = 0; f < flips; f++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256)
      cases.push({ label: `mutation ${i}`, bytes })
    }
  }
  return cases
}

/** What an independent reading of the header says: only QR=0, opcode 0, qdcount 1 may be answered. */
export const mayBeAnswered = (bytes: Buffer): boolean =>
  bytes.length >= 12 && (bytes.readUInt16BE(2) & 0x8000) === 0 && ((bytes.readUInt16BE(2) >> 11) & 0xf) === 0 && bytes.readUInt16BE(4) === 1

/** Whether the query carries an OPT record (then up to 1232 bytes are allowed, else 512). */
export const hasOpt = (bytes: Buffer): boolean => {
  try {
    return (dnsPacket.decode(bytes).additionals ?? []).some((a) => a.type === "OPT")
  } catch {
    return false
  }
}
