/**
 * The node's embedded DNS server (SPEC §12a, ADR 0704): names of the zone
 * (`<service>.<project>.internal`) answered from a lookup the caller gives,
 * everything else forwarded to upstream resolvers; UDP and TCP on one
 * address and port, closed with the scope.
 *
 *   const dns = yield* startDnsServer({
 *     address: "10.89.0.1", port: 53, zone: ".internal",
 *     resolve: (fqdn) => lookupHealthyReplicas(fqdn),   // Effect<string[] | null>
 *     upstreams: yield* readHostResolvers()
 *   })
 */
import { Cause, Effect, Runtime, type Scope } from "effect"
import * as net from "node:net"
import { DnsBindError, DnsConfigError } from "./errors.js"
import { Forwarder } from "./forwarder.js"
import { makeHandler, type ZoneLookup } from "./handler.js"
import { normalizeName } from "./message.js"
import { RateLimiter, type RateLimitOptions } from "./rateLimit.js"
import { type DnsStats, emptyStats } from "./stats.js"
import { listenTcp, type TcpListener } from "./tcp.js"
import { listenUdp, type UdpListener } from "./udp.js"
import { parseUpstream, type Upstream } from "./upstreams.js"

export { DnsBindError, DnsConfigError } from "./errors.js"
export type { DnsStats } from "./stats.js"
export { readHostResolvers } from "./upstreams.js"

/** Safety limits; every field has a default. */
export interface DnsLimits {
  /** Per upstream attempt (default 2000). */
  readonly forwardTimeoutMs: number
  /** Forwards in flight at once; beyond that, SERVFAIL (default 256). */
  readonly maxInflightForwards: number
  /** How long `resolve` may take before the client gets SERVFAIL (default 1000). */
  readonly resolveTimeoutMs: number
  /** Per source address, UDP and TCP together (default 1000/s, burst 2000). */
  readonly rateLimit: RateLimitOptions
  /** Concurrent TCP connections (default 128). */
  readonly tcpMaxConnections: number
  /** An idle TCP connection is closed after this (default 10000). */
  readonly tcpIdleTimeoutMs: number
  /** Outstanding queries per TCP connection before reading pauses (default 16). */
  readonly tcpMaxInflightPerConnection: number
}

export const defaultDnsLimits: DnsLimits = {
  forwardTimeoutMs: 2000,
  maxInflightForwards: 256,
  resolveTimeoutMs: 1000,
  rateLimit: { perSecond: 1000, burst: 2000 },
  tcpMaxConnections: 128,
  tcpIdleTimeoutMs: 10_000,
  tcpMaxInflightPerConnection: 16
}

export interface DnsServerOptions<R = never> {
  /** IPv4 or IPv6 address to listen on (the bridge address in production). */
  readonly address: string
  /** UDP and TCP port; 0 picks a free port that is free for both (tests). */
  readonly port: number
  /** The zone answered locally, e.g. ".internal". */
  readonly zone: string
  /**
   * Addresses (IPv4) for a name of the zone, given lower-case without a
   * trailing dot (`web.shop.internal`); null when the name does not exist
   * (NXDOMAIN), an empty array for a name with no address right now
   * (NOERROR, no answers). Called on every query unless `zoneVersion` is
   * given. A failure or defect gives SERVFAIL.
   */
  readonly resolve: ZoneLookup<R>
  /**
   * Identity of the zone's contents (e.g. the name table object, replaced on
   * every change): given, answers of the zone are cached as wire messages
   * until it returns something else.
   */
  readonly zoneVersion?: () => unknown
  /** Upstream resolvers, `ip` or `ip:port` (`[v6]:port`), tried in order. Empty: forwards answer SERVFAIL. */
  readonly upstreams: ReadonlyArray<string>
  /** TTL of the zone's answers, 0..5 (default 5). */
  readonly ttlSeconds?: number
  readonly limits?: Partial<DnsLimits>
}

export interface DnsServer {
  readonly address: string
  /** The port both listeners are bound to. */
  readonly port: number
  /** A snapshot of the counters. */
  readonly stats: () => DnsStats
}

const positive = (field: string, value: number): Effect.Effect<void, DnsConfigError> =>
  Number.isFinite(value) && value > 0
    ? Effect.void
    : Effect.fail(new DnsConfigError({ field, message: `${field}: must be a positive number, got ${value}` }))

const validate = <R>(
  options: DnsServerOptions<R>
): Effect.Effect<{ upstreams: ReadonlyArray<Upstream>; ttl: number; limits: DnsLimits }, DnsConfigError> =>
  Effect.gen(function*() {
    const fail = (field: string, message: string) => Effect.fail(new DnsConfigError({ field, message: `${field}: ${message}` }))
    if (net.isIP(options.address) === 0) return yield* fail("address", `must be an IP address, got "${options.address}"`)
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      return yield* fail("port", `must be an integer 0..65535, got ${options.port}`)
    }
    const zone = normalizeName(options.zone.startsWith(".") ? options.zone.slice(1) : options.zone)
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(zone)) {
      return yield* fail("zone", `must be a domain such as ".internal", got "${options.zone}"`)
    }
    const ttl = options.ttlSeconds ?? 5
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 5) return yield* fail("ttlSeconds", `must be an integer 0..5, got ${ttl}`)
    const upstreams: Array<Upstream> = []
    for (const text of options.upstreams) {
      const upstream = parseUpstream(text)
      if (upstream === null) return yield* fail("upstreams", `"${text}" is not an address or address:port`)
      if (upstream.port === options.port && upstream.host === options.address) {
        return yield* fail("upstreams", `"${text}" is this server (a forwarding loop)`)
      }
      upstreams.push(upstream)
    }
    const limits: DnsLimits = { ...defaultDnsLimits, ...options.limits }
    yield* positive("limits.forwardTimeoutMs", limits.forwardTimeoutMs)
    yield* positive("limits.maxInflightForwards", limits.maxInflightForwards)
    yield* positive("limits.resolveTimeoutMs", limits.resolveTimeoutMs)
    yield* positive("limits.rateLimit.perSecond", limits.rateLimit.perSecond)
    yield* positive("limits.rateLimit.burst", limits.rateLimit.burst)
    yield* positive("limits.tcpMaxConnections", limits.tcpMaxConnections)
    yield* positive("limits.tcpIdleTimeoutMs", limits.tcpIdleTimeoutMs)
    yield* positive("limits.tcpMaxInflightPerConnection", limits.tcpMaxInflightPerConnection)
    return { upstreams, ttl, limits }
  })

interface Listeners {
  readonly udp: UdpListener
  readonly tcp: TcpListener
}

const errorCode = (e: unknown): string => (e instanceof Error && "code" in e && typeof e.code === "string" ? e.code : "")

/** Binds UDP, then TCP on the same port; with port 0, retries when the UDP port is taken on TCP. */
const bindBoth = async (
  address: string,
  port: number,
  handler: Parameters<typeof listenUdp>[2],
  limits: DnsLimits
): Promise<Listeners | { readonly failed: "udp" | "tcp"; readonly cause: unknown }> => {
  const tcpLimits = {
    maxConnections: limits.tcpMaxConnections,
    idleTimeoutMs: limits.tcpIdleTimeoutMs,
    maxInflightPerConnection: limits.tcpMaxInflightPerConnection
  }
  for (let attempt = 0;; attempt++) {
    let udp: UdpListener
    try {
      udp = await listenUdp(address, port, handler)
    } catch (cause) {
      return { failed: "udp", cause }
    }
    try {
      return { udp, tcp: await listenTcp(address, udp.port, handler, tcpLimits) }
    } catch (cause) {
      await udp.close()
      if (port !== 0 || errorCode(cause) !== "EADDRINUSE" || attempt >= 20) return { failed: "tcp", cause }
    }
  }
}

/**
 * Starts the DNS server; it stops (sockets closed, forwards aborted, TCP
 * connections dropped) when the scope closes.
 */
export const startDnsServer = <R = never>(
  options: DnsServerOptions<R>
): Effect.Effect<DnsServer, DnsBindError | DnsConfigError, Scope.Scope | R> =>
  Effect.gen(function*() {
    const { limits, ttl, upstreams } = yield* validate(options)
    const runtime = yield* Effect.runtime<R>()
    const stats = emptyStats()
    const forwarder = new Forwarder({ upstreams, timeoutMs: limits.forwardTimeoutMs, maxInflight: limits.maxInflightForwards }, stats)
    let lastFailureLog = Number.NEGATIVE_INFINITY
    const handler = makeHandler({
      zone: options.zone,
      resolve: options.resolve,
      ...(options.zoneVersion === undefined ? {} : { zoneVersion: options.zoneVersion }),
      runtime,
      ttlSeconds: ttl,
      resolveTimeoutMs: limits.resolveTimeoutMs,
      forwarder,
      limiter: new RateLimiter(limits.rateLimit),
      stats,
      onFailure: (what, cause) => {
        // At most one log line a second: a broken lookup must not flood the log.
        const now = performance.now()
        if (now - lastFailureLog < 1000) return
        lastFailureLog = now
        Runtime.runFork(runtime)(
          Effect.logWarning(`dns: ${what} failed; answering SERVFAIL`, Cause.isCause(cause) ? Cause.pretty(cause) : cause)
        )
      }
    })
    const listeners = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => bindBoth(options.address, options.port, handler, limits),
        catch: (cause) => ({ failed: "udp" as const, cause })
      }).pipe(
        Effect.merge,
        Effect.flatMap((bound) =>
          "failed" in bound
            ? Effect.fail(
              new DnsBindError({
                address: options.address,
                port: options.port,
                protocol: bound.failed,
                message: `cannot listen on ${options.address}:${options.port}/${bound.failed}: ${
                  bound.cause instanceof Error ? bound.cause.message : String(bound.cause)
                }`,
                cause: bound.cause
              })
            )
            : Effect.succeed(bound)
        )
      ),
      (bound) =>
        Effect.promise(async () => {
          forwarder.close()
          await Promise.all([bound.udp.close(), bound.tcp.close()])
        })
    )
    return { address: options.address, port: listeners.udp.port, stats: () => ({ ...stats }) }
  })
