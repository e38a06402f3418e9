import { Effect } from "effect"
import * as dns from "node:dns"
import * as net from "node:net"
import { RegistryUnreachable, SsrfRefused } from "./errors.js"

/**
 * SSRF policy: registries are public hosts unless allow-listed. `allowed` holds
 * lowercased `host:port` entries (or bare `host`, meaning any port) from
 * `insecure_registries` plus the node's own hosted registry.
 */
export interface SsrfPolicy {
  readonly allowed: ReadonlyArray<string>
}

interface Range {
  readonly net: string
  readonly prefix: number
  readonly family: "ipv4" | "ipv6"
  readonly reason: string
}

const ranges: ReadonlyArray<Range> = [
  { net: "0.0.0.0", prefix: 8, family: "ipv4", reason: "unspecified" },
  { net: "10.0.0.0", prefix: 8, family: "ipv4", reason: "private" },
  { net: "100.64.0.0", prefix: 10, family: "ipv4", reason: "CGNAT" },
  { net: "127.0.0.0", prefix: 8, family: "ipv4", reason: "loopback" },
  { net: "169.254.0.0", prefix: 16, family: "ipv4", reason: "link-local" },
  { net: "172.16.0.0", prefix: 12, family: "ipv4", reason: "private" },
  { net: "192.0.0.0", prefix: 24, family: "ipv4", reason: "IETF protocol assignment" },
  { net: "192.168.0.0", prefix: 16, family: "ipv4", reason: "private" },
  { net: "198.18.0.0", prefix: 15, family: "ipv4", reason: "benchmarking" },
  { net: "224.0.0.0", prefix: 4, family: "ipv4", reason: "multicast" },
  { net: "240.0.0.0", prefix: 4, family: "ipv4", reason: "reserved" },
  { net: "::", prefix: 128, family: "ipv6", reason: "unspecified" },
  { net: "::1", prefix: 128, family: "ipv6", reason: "loopback" },
  { net: "fc00::", prefix: 7, family: "ipv6", reason: "unique-local" },
  { net: "fe80::", prefix: 10, family: "ipv6", reason: "link-local" },
  { net: "fec0::", prefix: 10, family: "ipv6", reason: "site-local" },
  { net: "ff00::", prefix: 8, family: "ipv6", reason: "multicast" }
]

const blockLists: ReadonlyArray<{ readonly list: net.BlockList; readonly reason: string; readonly family: string }> = ranges.map((r) => {
  const list = new net.BlockList()
  list.addSubnet(r.net, r.prefix, r.family)
  return { list, reason: r.reason, family: r.family }
})

/** Expands an IPv6 literal to 8 hextets; undefined when not parseable. */
const ipv6Hextets = (address: string): ReadonlyArray<number> | undefined => {
  let text = address.toLowerCase()
  const zone = text.indexOf("%")
  if (zone >= 0) text = text.slice(0, zone)
  // dotted IPv4 tail (::ffff:1.2.3.4)
  const lastColon = text.lastIndexOf(":")
  const tail = text.slice(lastColon + 1)
  if (tail.includes(".")) {
    if (!net.isIPv4(tail)) return undefined
    const o = tail.split(".").map(Number)
    text = `${text.slice(0, lastColon + 1)}${(((o[0] ?? 0) << 8) | (o[1] ?? 0)).toString(16)}:${
      (
        ((o[2] ?? 0) << 8) |
        (o[3] ?? 0)
      ).toString(16)
    }`
  }
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const head = halves[0] ? halves[0].split(":") : []
  const rest = halves.length === 2 && halves[1] ? halves[1].split(":") : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 1 && missing !== 0) return undefined
  if (missing < 0) return undefined
  const all = [...head, ...Array.from({ length: missing }, () => "0"), ...rest]
  const out = all.map((h) => parseInt(h, 16))
  return out.some((n) => Number.isNaN(n) || n < 0 || n > 0xffff) ? undefined : out
}

/** IPv4 embedded in an IPv4-mapped (::ffff:0:0/96), IPv4-compatible or NAT64 (64:ff9b::/96) address. */
const embeddedIPv4 = (address: string): string | undefined => {
  const h = ipv6Hextets(address)
  if (h === undefined) return undefined
  const [a, b, c, d, e, f, g, k] = h
  const v4 = () => `${(g ?? 0) >> 8}.${(g ?? 0) & 0xff}.${(k ?? 0) >> 8}.${(k ?? 0) & 0xff}`
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0xffff) return v4()
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) return v4()
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0 && !(g === 0 && (k === 0 || k === 1))) {
    return v4() // deprecated IPv4-compatible ::a.b.c.d
  }
  return undefined
}

/**
 * Returns why an address is internal (loopback, private, …) or undefined for
 * a public address. Unparseable input counts as internal.
 */
export const classifyAddress = (address: string): string | undefined => {
  const family = net.isIP(address)
  if (family === 0) return "not an IP address"
  if (family === 6) {
    const v4 = embeddedIPv4(address)
    if (v4 !== undefined) {
      const inner = classifyAddress(v4)
      return inner === undefined ? undefined : `IPv4-mapped ${inner}`
    }
  }
  const fam = family === 4 ? "ipv4" : "ipv6"
  for (const b of blockLists) {
    if (b.family === fam && b.list.check(address, fam)) return b.reason
  }
  return undefined
}

/** Splits `host[:port]` / `[v6]:port`; port undefined when absent. */
export const splitHostPort = (hostPort: string): { readonly host: string; readonly port: number | undefined } => {
  if (hostPort.startsWith("[")) {
    const end = hostPort.indexOf("]")
    const host = hostPort.slice(1, end)
    const port = hostPort.slice(end + 1).startsWith(":") ? Number(hostPort.slice(end + 2)) : undefined
    return { host, port }
  }
  const colon = hostPort.lastIndexOf(":")
  if (colon > 0 && hostPort.indexOf(":") === colon) {
    return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) }
  }
  return { host: hostPort, port: undefined }
}

const normHost = (host: string) => host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "")

/** True when `host:port` is allow-listed (exact host:port, or bare host entry). */
export const isAllowListed = (policy: SsrfPolicy, host: string, port: number): boolean => {
  const h = normHost(host)
  return policy.allowed.some((entry) => {
    const e = splitHostPort(entry.trim())
    return normHost(e.host) === h && (e.port === undefined || e.port === port)
  })
}

/** All addresses for a host (IP literals resolve to themselves). */
const resolveAll = (host: string): Promise<ReadonlyArray<dns.LookupAddress>> => {
  const h = normHost(host)
  const family = net.isIP(h)
  if (family !== 0) return Promise.resolve([{ address: h, family }])
  return dns.promises.lookup(h, { all: true, verbatim: true })
}

export class SsrfBlocked extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string
  ) {
    super(`refusing to connect to ${host} (${address}): ${reason} address`)
  }
}

/**
 * Plain-promise guard used on the data path (redirect hops, token realms):
 * resolves the host and rejects with SsrfBlocked if any address is internal.
 */
export const assertPublicHost = async (policy: SsrfPolicy, host: string, port: number): Promise<void> => {
  if (isAllowListed(policy, host, port)) return
  const addresses = await resolveAll(host)
  if (addresses.length === 0) throw new SsrfBlocked(host, "", "host has no addresses")
  for (const a of addresses) {
    const reason = classifyAddress(a.address)
    if (reason !== undefined) throw new SsrfBlocked(host, a.address, reason)
  }
}

/** Effect form of {@link assertPublicHost}. */
export const checkHost = (
  policy: SsrfPolicy,
  host: string,
  port: number
): Effect.Effect<void, SsrfRefused | RegistryUnreachable> =>
  Effect.tryPromise({
    try: () => assertPublicHost(policy, host, port),
    catch: (e) =>
      e instanceof SsrfBlocked
        ? new SsrfRefused({ host: e.host, address: e.address, reason: e.reason })
        : new RegistryUnreachable({
          registry: host,
          reason: `cannot resolve host: ${e instanceof Error ? e.message : String(e)}`,
          cause: e
        })
  })

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void

/**
 * A `lookup` for socket connects that re-validates every resolved address, so
 * a DNS answer that changes between the pre-check and the connect (rebinding)
 * still cannot reach an internal address. Hosts with an allow-list entry are
 * resolved without restriction (the port is enforced before each request).
 */
export const guardedLookup = (policy: SsrfPolicy) => (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
  const h = normHost(hostname)
  const allowHost = policy.allowed.some((entry) => normHost(splitHostPort(entry.trim()).host) === h)
  dns.lookup(h, { ...options, all: true, verbatim: true }, (err, addresses) => {
    if (err) return callback(err, [])
    if (!allowHost) {
      for (const a of addresses) {
        const reason = classifyAddress(a.address)
        if (reason !== undefined) {
          const e: NodeJS.ErrnoException = new SsrfBlocked(hostname, a.address, reason)
          e.code = "EDENIASSRF"
          return callback(e, [])
        }
      }
    }
    if (options.all === true) return callback(null, addresses)
    const first = addresses[0]
    if (first === undefined) return callback(new Error(`no address for ${hostname}`), [])
    callback(null, first.address, first.family)
  })
}
