/**
 * Which IP a request comes from, for throttles and audit records.
 *
 * Default: the socket peer. `X-Forwarded-For` counts only when the hop that
 * set it is trusted:
 * - the daemon's own ingress, recognised by the per-boot hop secret it adds
 *   to control-domain requests (`ingressHop.ts`); its XFF is the ingress's
 *   own socket peer (it drops client-sent forwarding headers);
 * - a peer listed in `trusted_proxies` (an external reverse proxy): the XFF
 *   chain is walked from the right, skipping trusted proxies, and the first
 *   untrusted address is the client.
 * Being a loopback peer alone earns no trust: every local process is one.
 */
import type { HttpServerRequest } from "@effect/platform"
import { Effect, Option } from "effect"
import { BlockList, isIP } from "node:net"
import { DeniaConfig } from "../config/Config.js"
import { ipOrCidrProblem } from "../config/fields.js"
import { INGRESS_HOP_HEADER, isIngressHop } from "./ingressHop.js"

const normalise = (ip: string): string => (ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip)

/** Compiled `trusted_proxies`: IPs and CIDRs (IPv4 entries also match their v4-mapped v6 form via normalisation). */
export interface ProxyTrust {
  readonly isTrusted: (ip: string) => boolean
}

export const compileTrust = (entries: ReadonlyArray<string>): ProxyTrust => {
  if (entries.length === 0) return { isTrusted: () => false }
  const list = new BlockList()
  for (const entry of entries) {
    if (ipOrCidrProblem(entry) !== undefined) continue
    const [addr = "", bits] = entry.split("/")
    const type = isIP(addr) === 4 ? "ipv4" : "ipv6"
    if (bits === undefined) list.addAddress(addr, type)
    else list.addSubnet(addr, Number(bits), type)
  }
  return {
    isTrusted: (ip) => {
      const family = isIP(ip)
      return family !== 0 && list.check(ip, family === 4 ? "ipv4" : "ipv6")
    }
  }
}

const forwardedChain = (request: HttpServerRequest.HttpServerRequest): Array<string> =>
  (request.headers["x-forwarded-for"] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)

/** The client IP of `request` under `trust` (see the module comment). */
export const clientIp = (request: HttpServerRequest.HttpServerRequest, trust: ProxyTrust): string => {
  const peer = normalise(Option.getOrElse(request.remoteAddress, () => "unknown"))
  if (isIngressHop(request.headers[INGRESS_HOP_HEADER])) {
    // our ingress writes exactly one hop: its own peer (which may itself be a trusted proxy)
    const chain = forwardedChain(request)
    const last = chain.at(-1)
    return last !== undefined && isIP(last) !== 0 ? normalise(last) : peer
  }
  if (!trust.isTrusted(peer)) return peer
  let client = peer
  for (const hop of forwardedChain(request).reverse()) {
    if (isIP(hop) === 0) break
    client = normalise(hop)
    if (!trust.isTrusted(client)) break
  }
  return client
}

const compiled = new WeakMap<ReadonlyArray<string>, ProxyTrust>()

/** `trusted_proxies` of the running daemon, compiled once per config value. */
export const proxyTrust: Effect.Effect<ProxyTrust, never, DeniaConfig> = Effect.map(DeniaConfig, (config) => {
  const entries = config.values.trustedProxies
  const known = compiled.get(entries)
  if (known !== undefined) return known
  const trust = compileTrust(entries)
  compiled.set(entries, trust)
  return trust
})
