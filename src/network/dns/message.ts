/**
 * DNS messages through `dns-packet`: which datagrams count as a query we
 * answer, the responses we build, and the size rules for UDP (RFC 1035 512
 * bytes without EDNS, the advertised EDNS size up to 1232 with it; anything
 * larger becomes a truncated response so the client retries over TCP).
 */
import dnsPacket from "dns-packet"
import * as net from "node:net"

export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const
export type Rcode = (typeof Rcode)[keyof typeof Rcode]

/** Largest UDP answer without EDNS (RFC 1035 §4.2.1). */
export const PLAIN_UDP_LIMIT = 512
/** Largest UDP answer we send even when a client advertises more (DNS flag day 2020). */
export const EDNS_UDP_LIMIT = 1232

/** A query we are willing to answer: one question, QR=0, opcode QUERY. */
export interface Query {
  readonly id: number
  /** RD as the client sent it (echoed in the response). */
  readonly recursionDesired: boolean
  /** The question name exactly as asked (echoed; some clients randomise its case). */
  readonly name: string
  /** Lower-case, without a trailing dot ("" for the root). */
  readonly fqdn: string
  /** Record type as dns-packet names it ("A", "AAAA", "ANY", "UNKNOWN_65280", ...). */
  readonly type: string
  readonly klass: string
  /** The decoded question, echoed in responses. */
  readonly question: dnsPacket.Question
  /** The client's EDNS UDP payload size, or null when it sent no OPT record. */
  readonly ednsUdpSize: number | null
}

const OPCODE_QUERY = 0
const opcodeOf = (flags: number): number => (flags >> 11) & 0xf
const rcodeOf = (flags: number): number => flags & 0xf

/** Lower-case and strip one trailing dot; "." (root) becomes "". */
export const normalizeName = (name: string): string => {
  const lower = name.toLowerCase()
  return lower.endsWith(".") ? lower.slice(0, -1) : lower
}

/** Whether `fqdn` (normalized) is `zone` (".internal") or below it. */
export const inZone = (fqdn: string, zone: string): boolean => {
  const bare = normalizeName(zone.startsWith(".") ? zone.slice(1) : zone)
  return fqdn === bare || fqdn.endsWith(`.${bare}`)
}

const decode = (raw: Buffer): dnsPacket.DecodedPacket | null => {
  if (raw.length < 12) return null
  try {
    return dnsPacket.decode(raw)
  } catch {
    return null
  }
}

/**
 * Whether encoding `question` gives back the bytes that follow the header of
 * `raw` (a query's only question is never compressed). It does not for
 * labels holding dots or bytes that are not UTF-8, or classes dns-packet
 * cannot name; such a question could not be echoed faithfully.
 */
const echoesExactly = (raw: Buffer, question: dnsPacket.Question): boolean => {
  let encoded: Buffer
  try {
    encoded = dnsPacket.encode({ type: "query", id: 0, questions: [question] })
  } catch {
    return false
  }
  return raw.length >= encoded.length && encoded.subarray(12).equals(raw.subarray(12, encoded.length))
}

/**
 * The query in `raw`, or null for anything we do not answer: undecodable or
 * truncated bytes, responses (QR=1), other opcodes, zero or several
 * questions, queries carrying answer or authority records, additional
 * records other than a single OPT, and questions that do not re-encode to
 * the same bytes.
 */
export const parseQuery = (raw: Buffer): Query | null => {
  const packet = decode(raw)
  if (packet === null || packet.type !== "query" || packet.flag_qr) return null
  const flags = packet.flags ?? 0
  if (opcodeOf(flags) !== OPCODE_QUERY) return null
  const questions = packet.questions ?? []
  const answers = packet.answers ?? []
  const authorities = packet.authorities ?? []
  const additionals = packet.additionals ?? []
  if (questions.length !== 1 || answers.length !== 0 || authorities.length !== 0 || additionals.length > 1) return null
  const question = questions[0]
  if (question === undefined || typeof question.name !== "string" || typeof question.type !== "string") return null
  const echoed: dnsPacket.Question = { name: question.name, type: question.type, class: question.class ?? "IN" }
  if (!echoesExactly(raw, echoed)) return null
  let ednsUdpSize: number | null = null
  const extra = additionals[0]
  if (extra !== undefined) {
    if (extra.type !== "OPT") return null
    ednsUdpSize = extra.udpPayloadSize
  }
  return {
    id: packet.id ?? 0,
    recursionDesired: packet.flag_rd,
    name: question.name,
    fqdn: normalizeName(question.name === "." ? "" : question.name),
    type: question.type,
    klass: question.class ?? "IN",
    question: echoed,
    ednsUdpSize
  }
}

/** The UDP size limit for an answer to `query`. */
export const udpLimit = (query: Query): number =>
  query.ednsUdpSize === null ? PLAIN_UDP_LIMIT : Math.min(EDNS_UDP_LIMIT, Math.max(PLAIN_UDP_LIMIT, query.ednsUdpSize))

const baseFlags = (query: Query, rcode: Rcode, authoritative: boolean): number =>
  (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
  (query.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0) |
  dnsPacket.RECURSION_AVAILABLE |
  rcode

const optFor = (query: Query): Array<dnsPacket.Answer> =>
  query.ednsUdpSize === null
    ? []
    : [{ type: "OPT", name: ".", udpPayloadSize: EDNS_UDP_LIMIT, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]

const encode = (query: Query, flags: number, answers: ReadonlyArray<dnsPacket.Answer>): Buffer =>
  dnsPacket.encode({
    type: "response",
    id: query.id,
    flags,
    questions: [query.question],
    answers: [...answers],
    additionals: optFor(query)
  })

/** A response with no answers and the given rcode (SERVFAIL, REFUSED, NXDOMAIN, empty NOERROR). */
export const emptyResponse = (query: Query, rcode: Rcode, authoritative: boolean): Buffer =>
  encode(query, baseFlags(query, rcode, authoritative), [])

/** The header and question only, with TC set: "ask again over TCP". */
export const truncatedResponse = (query: Query, rcode: Rcode, authoritative: boolean): Buffer =>
  encode(query, baseFlags(query, rcode, authoritative) | dnsPacket.TRUNCATED_RESPONSE, [])

/**
 * The authoritative answer for a name of the zone: A records for A and ANY
 * questions, no answers for other types of an existing name. Invalid or
 * duplicate addresses are left out. When `limit` is given and the message
 * would exceed it, the truncated form is returned instead (`truncated: true`).
 */
export const zoneAnswer = (
  query: Query,
  addresses: ReadonlyArray<string>,
  ttlSeconds: number,
  limit: number | null
): { readonly message: Buffer; readonly truncated: boolean } => {
  const wantsA = query.type === "A" || query.type === "ANY"
  const unique = wantsA ? [...new Set(addresses.filter((a) => net.isIPv4(a)))] : []
  const answers: Array<dnsPacket.Answer> = unique.map((data) => ({ type: "A", name: query.name, class: "IN", ttl: ttlSeconds, data }))
  const flags = baseFlags(query, Rcode.NOERROR, true)
  const full = encode(query, flags, answers)
  return limit !== null && full.length > limit
    ? { message: truncatedResponse(query, Rcode.NOERROR, true), truncated: true }
    : { message: full, truncated: false }
}

/** An upstream response that matched the forward it answers. */
export interface ForwardReply {
  readonly truncated: boolean
}

/**
 * Whether `raw` (from an upstream) answers the forwarded `query` under the
 * id we sent: a decodable response with that id and the same single
 * question (name compared case-insensitively, type and class exactly).
 * Null when it does not (the caller drops it and keeps waiting).
 */
export const matchForward = (raw: Buffer, upstreamId: number, query: Query): ForwardReply | null => {
  const packet = decode(raw)
  if (packet === null || packet.type !== "response" || packet.id !== upstreamId) return null
  const questions = packet.questions ?? []
  const question = questions[0]
  const same = questions.length === 1 && question !== undefined &&
    normalizeName(question.name === "." ? "" : question.name) === query.fqdn && question.type === query.type &&
    (question.class ?? "IN") === query.klass
  return same ? { truncated: packet.flag_tc } : null
}

/** The rcode of an encoded response (for stats and tests). */
export const responseRcode = (raw: Buffer): number | null => {
  const packet = decode(raw)
  return packet === null ? null : rcodeOf(packet.flags ?? 0)
}

/** A copy of `raw` carrying `id` in its header (query id rewriting for forwards). */
export const withId = (raw: Buffer, id: number): Buffer => {
  const copy = Buffer.from(raw)
  copy.writeUInt16BE(id, 0)
  return copy
}
