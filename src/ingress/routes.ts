/**
 * The route table: an immutable snapshot (host → target) rebuilt by the
 * control plane and swapped in one assignment; the proxy reads whichever
 * snapshot is current when a request arrives.
 */

export type Route =
  | {
    readonly kind: "service"
    readonly hostname: string
    readonly source: "default" | "domain"
    readonly serviceId: string
    readonly projectName: string
    readonly serviceName: string
    readonly tlsEnabled: boolean
    readonly domainId: string | null
  }
  | { readonly kind: "control"; readonly hostname: string; readonly tlsEnabled: boolean }

/** A pending domain's challenge: served only when `Host` equals `hostname`. */
export interface PendingChallenge {
  readonly hostname: string
  readonly token: string
  readonly proof: string
}

export interface RouteSnapshot {
  readonly hosts: ReadonlyMap<string, Route>
  /** token → challenge of pending domains. */
  readonly challenges: ReadonlyMap<string, PendingChallenge>
}

export const emptySnapshot: RouteSnapshot = { hosts: new Map(), challenges: new Map() }

/** Holder read by the proxy; `set` is the atomic swap. */
export class RouteTable {
  current: RouteSnapshot = emptySnapshot
  set(next: RouteSnapshot): void {
    this.current = next
  }
}

export interface RouteInputs {
  readonly baseDomain: string
  readonly controlDomain: string
  readonly controlTls: boolean
  readonly services: ReadonlyArray<
    { readonly id: string; readonly name: string; readonly projectName: string; readonly tlsEnabled: boolean }
  >
  readonly domains: ReadonlyArray<{
    readonly id: string
    readonly serviceId: string
    readonly hostname: string
    readonly status: "pending" | "verified" | "released" | "expired"
    readonly token: string
    readonly proof: string
  }>
}

export const defaultHostname = (serviceName: string, projectName: string, baseDomain: string): string =>
  `${serviceName}.${projectName}.${baseDomain}`.toLowerCase()

/** Builds a snapshot. The control domain wins over everything; default hostnames over custom domains. */
export const buildSnapshot = (input: RouteInputs): RouteSnapshot => {
  const hosts = new Map<string, Route>()
  const challenges = new Map<string, PendingChallenge>()
  const byId = new Map(input.services.map((s) => [s.id, s]))
  for (const d of input.domains) {
    const s = byId.get(d.serviceId)
    if (s === undefined) continue
    if (d.status !== "verified") {
      // only verified domains route; open claims answer their challenge; released/expired ones nothing
      if (d.status === "pending") challenges.set(d.token, { hostname: d.hostname, token: d.token, proof: d.proof })
      continue
    }
    hosts.set(d.hostname, {
      kind: "service",
      hostname: d.hostname,
      source: "domain",
      serviceId: s.id,
      projectName: s.projectName,
      serviceName: s.name,
      tlsEnabled: s.tlsEnabled,
      domainId: d.id
    })
  }
  for (const s of input.services) {
    const h = defaultHostname(s.name, s.projectName, input.baseDomain)
    hosts.set(h, {
      kind: "service",
      hostname: h,
      source: "default",
      serviceId: s.id,
      projectName: s.projectName,
      serviceName: s.name,
      // default hostnames never get certificates, so they never redirect
      tlsEnabled: false,
      domainId: null
    })
  }
  if (input.controlDomain !== "") {
    const h = input.controlDomain.toLowerCase()
    hosts.set(h, { kind: "control", hostname: h, tlsEnabled: input.controlTls })
  }
  return { hosts, challenges }
}

/**
 * Normalises a `Host` header: lowercased, port and trailing dot removed.
 * Returns "" for anything that is not a plain DNS name (IP literals too, which
 * never match a route).
 */
export const hostOf = (header: string | undefined): string => {
  if (header === undefined) return ""
  let h = header
  if (h.startsWith("[")) return ""
  const colon = h.indexOf(":")
  if (colon >= 0) h = h.slice(0, colon)
  if (h.endsWith(".")) h = h.slice(0, -1)
  return h.toLowerCase()
}
