/**
 * What the server does with one message, whatever the transport: drop what
 * is not a single-question query, apply the source's rate limit, answer
 * names of the zone from `resolve`, keep plain names (no dot) off the
 * upstreams, and forward the rest.
 *
 * With `zoneVersion`, zone answers are kept as wire messages keyed by the
 * query's bytes after the ID (flags, question, EDNS: everything the answer
 * depends on) and the transport, and a repeated query is answered by copying
 * one and writing its ID — no parse, no lookup, no encoding. The cache is
 * emptied whenever `zoneVersion()` returns something else (the name table
 * changed) and when it reaches `RESPONSE_CACHE_MAX` entries. Truncated
 * answers, SERVFAIL and forwarded names are never cached. ADR 0705.
 */
import { type Effect, Exit, FiberId, Runtime } from "effect"
import type { Forwarder } from "./forwarder.js"
import { emptyResponse, inZone, parseQuery, type Query, Rcode, truncatedResponse, udpLimit, zoneAnswer } from "./message.js"
import type { RateLimiter } from "./rateLimit.js"
import type { DnsStats } from "./stats.js"

/** Addresses of an existing name (possibly none), or null when the name does not exist. */
export type ZoneLookup<R> = (fqdn: string) => Effect.Effect<ReadonlyArray<string> | null, unknown, R>

export interface HandlerOptions<R> {
  readonly zone: string
  readonly resolve: ZoneLookup<R>
  readonly runtime: Runtime.Runtime<R>
  readonly ttlSeconds: number
  readonly resolveTimeoutMs: number
  readonly forwarder: Forwarder
  readonly limiter: RateLimiter
  readonly stats: DnsStats
  /** Called when `resolve` fails, dies, throws or times out, or answering fails otherwise (the client gets SERVFAIL). */
  readonly onFailure: (what: string, cause: unknown) => void
  /** Identity of the zone's current contents; given = zone answers are cached until it changes. */
  readonly zoneVersion?: () => unknown
}

/** Bound of the response cache (entries); reaching it empties the cache. */
export const RESPONSE_CACHE_MAX = 4096
/** Queries longer than this are answered without the cache (a key is the query itself). */
const CACHEABLE_QUERY_BYTES = 512

/** A response to send, or why there is none ("malformed" closes a TCP connection). */
export type Outcome = Buffer | "malformed" | "limited"

export type Transport = "udp" | "tcp"

/** Synchronous when the answer is (a zone name whose lookup completes at once, a drop); a promise otherwise. */
export type Handler = (raw: Buffer, source: string, transport: Transport) => Outcome | Promise<Outcome>

type Lookup = { readonly addresses: ReadonlyArray<string> | null } | null

const map = <A, B>(value: A | Promise<A>, f: (a: A) => B): B | Promise<B> => value instanceof Promise ? value.then(f) : f(value)

export const makeHandler = <R>(options: HandlerOptions<R>): Handler => {
  const { forwarder, limiter, stats } = options
  const runFork = Runtime.runFork(options.runtime)

  const settle = (fqdn: string, exit: Exit.Exit<ReadonlyArray<string> | null, unknown>): Lookup => {
    if (Exit.isSuccess(exit)) return { addresses: exit.value }
    options.onFailure(`resolving ${fqdn}`, exit.cause)
    return null
  }

  // The fiber starts at once; a lookup that completes synchronously (an in-memory table) is answered
  // without a promise or a timer. Otherwise it is interrupted after `resolveTimeoutMs`.
  const lookup = (fqdn: string): Lookup | Promise<Lookup> => {
    const fiber = runFork(options.resolve(fqdn))
    const done = fiber.unsafePoll()
    if (done !== null) return settle(fqdn, done)
    return new Promise((resolve) => {
      const timer = setTimeout(() => fiber.unsafeInterruptAsFork(FiberId.none), options.resolveTimeoutMs)
      fiber.addObserver((exit) => {
        clearTimeout(timer)
        resolve(settle(fqdn, exit))
      })
    })
  }

  const servfail = (query: Query, authoritative: boolean): Buffer => {
    stats.servfail++
    return emptyResponse(query, Rcode.SERVFAIL, authoritative)
  }

  const fit = (query: Query, response: Buffer, limit: number | null, authoritative: boolean): Buffer => {
    if (limit === null || response.length <= limit) return response
    stats.truncated++
    return truncatedResponse(query, Rcode.NOERROR, authoritative)
  }

  const cache = new Map<string, Buffer>()
  let cacheVersion: unknown = undefined
  /** The cache key of `raw`, undefined when it is not cacheable; empties a stale cache first. */
  const cacheKey = (raw: Buffer, transport: Transport): string | undefined => {
    if (options.zoneVersion === undefined || raw.length < 12 || raw.length > CACHEABLE_QUERY_BYTES) return undefined
    const version = options.zoneVersion()
    if (version !== cacheVersion) {
      cache.clear()
      cacheVersion = version
    }
    return `${transport === "udp" ? "u" : "t"}${raw.toString("latin1", 2)}`
  }
  const remember = (key: string | undefined, version: unknown, message: Buffer) => {
    if (key === undefined || version !== cacheVersion) return
    if (cache.size >= RESPONSE_CACHE_MAX) cache.clear()
    cache.set(key, Buffer.from(message))
  }

  const answerZone = (query: Query, limit: number | null, key: string | undefined): Buffer | Promise<Buffer> => {
    const version = cacheVersion
    return map(lookup(query.fqdn), (found) => {
      if (found === null) return servfail(query, true)
      if (found.addresses === null) {
        const nx = emptyResponse(query, Rcode.NXDOMAIN, true)
        remember(key, version, nx)
        return nx
      }
      const answer = zoneAnswer(query, found.addresses, options.ttlSeconds, limit)
      if (answer.truncated) stats.truncated++
      else remember(key, version, answer.message)
      return answer.message
    })
  }

  const respond = (query: Query, raw: Buffer, transport: Transport, key: string | undefined): Buffer | Promise<Buffer> => {
    const limit = transport === "udp" ? udpLimit(query) : null
    if (query.klass !== "IN" || query.type === "AXFR" || query.type === "IXFR") {
      return emptyResponse(query, Rcode.REFUSED, false)
    }
    if (inZone(query.fqdn, options.zone)) return answerZone(query, limit, key)
    if (!query.fqdn.includes(".") && (query.type === "A" || query.type === "AAAA")) {
      return emptyResponse(query, Rcode.NXDOMAIN, false)
    }
    return forwarder.forward(query, raw, transport === "tcp").then((reply) =>
      reply === null ? servfail(query, false) : fit(query, reply, limit, false)
    )
  }

  return (raw, source, transport) => {
    stats.received++
    const key = cacheKey(raw, transport)
    const hit = key === undefined ? undefined : cache.get(key)
    if (hit !== undefined) {
      if (!limiter.take(source)) {
        stats.rateLimited++
        return "limited"
      }
      const response = Buffer.from(hit)
      raw.copy(response, 0, 0, 2)
      stats.answered++
      return response
    }
    const query = parseQuery(raw)
    if (query === null) {
      stats.malformed++
      return "malformed"
    }
    if (!limiter.take(source)) {
      stats.rateLimited++
      return "limited"
    }
    let response: Buffer | Promise<Buffer>
    try {
      response = respond(query, raw, transport, key)
    } catch (cause) {
      // A `resolve` that throws instead of returning an Effect, or a bug of ours: never a crash.
      options.onFailure(`answering ${query.fqdn}`, cause)
      response = servfail(query, false)
    }
    if (response instanceof Promise) {
      response = response.catch((cause: unknown) => {
        options.onFailure(`answering ${query.fqdn}`, cause)
        return servfail(query, false)
      })
    }
    return map(response, (response) => {
      stats.answered++
      return response
    })
  }
}
