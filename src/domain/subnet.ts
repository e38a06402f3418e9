/**
 * IPv4 subnet arithmetic for the node network (pure): parsing `a.b.c.d/n`,
 * the bridge address (the first host address) and the replica addresses
 * after it.
 */

export interface Subnet {
  /** Network address as an unsigned 32-bit integer. */
  readonly network: number
  readonly prefix: number
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/

/** `a.b.c.d` → unsigned integer, undefined when not a dotted quad. */
export const parseIpv4 = (s: string): number | undefined => {
  const parts = s.split(".")
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0)
}

export const formatIpv4 = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".")

/** Why `s` is not a usable private IPv4 subnet for replicas, undefined when it is. */
export const subnetProblem = (s: string): string | undefined => {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s)
  const base = m === null ? undefined : parseIpv4(m[1] ?? "")
  const prefix = Number(m?.[2])
  if (base === undefined || !(prefix >= 8 && prefix <= 29)) {
    return `must be an IPv4 subnet "a.b.c.d/n" with 8 <= n <= 29, got ${JSON.stringify(s)}`
  }
  if (base % 2 ** (32 - prefix) !== 0) return `${s} is not a network address (host bits are set)`
  const inside = (net: string, bits: number) => {
    const n = parseIpv4(net) ?? 0
    const size = 2 ** (32 - bits)
    return base >= n && base + 2 ** (32 - prefix) <= n + size
  }
  if (!inside("10.0.0.0", 8) && !inside("172.16.0.0", 12) && !inside("192.168.0.0", 16)) {
    return `${s} must lie inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)`
  }
  return undefined
}

/** Parses a subnet checked by `subnetProblem`; undefined when it is not acceptable. */
export const parseSubnet = (s: string): Subnet | undefined => {
  if (subnetProblem(s) !== undefined) return undefined
  const [addr, bits] = s.split("/")
  return { network: parseIpv4(addr ?? "") ?? 0, prefix: Number(bits) }
}

export const subnetSize = (s: Subnet): number => 2 ** (32 - s.prefix)

/** The bridge's own address: the first host address. */
export const bridgeAddress = (s: Subnet): string => formatIpv4(s.network + 1)

export const subnetCidr = (s: Subnet): string => `${formatIpv4(s.network)}/${s.prefix}`

/** Whether `address` lies inside `s`. */
export const contains = (s: Subnet, address: string): boolean => {
  const n = parseIpv4(address)
  return n !== undefined && n >= s.network && n < s.network + subnetSize(s)
}

/**
 * The lowest replica address not in `taken`: after the bridge address, before
 * the broadcast address. Undefined when the subnet is full.
 */
export const firstFree = (s: Subnet, taken: ReadonlySet<string>): string | undefined => {
  const last = s.network + subnetSize(s) - 2
  for (let n = s.network + 2; n <= last; n++) {
    const a = formatIpv4(n)
    if (!taken.has(a)) return a
  }
  return undefined
}
