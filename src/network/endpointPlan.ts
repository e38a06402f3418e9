/**
 * Choosing the public ports of a service's raw TCP/UDP endpoints (pure):
 * a requested `publicPort` must lie in the protocol's range and not belong
 * to another service; an endpoint without one keeps the port it already has,
 * or gets the lowest free port of the range.
 */
import { Either } from "effect"
import { Conflict, Invalid } from "../domain/errors.js"
import type { Endpoint } from "../domain/service.js"

export type Protocol = "tcp" | "udp"

export interface PortRange {
  readonly low: number
  readonly high: number
}

/** `"low-high"` (validated by the config loader) → range. */
export const parsePortRange = (s: string): PortRange => {
  const [low, high] = s.split("-").map(Number)
  return { low: low ?? 0, high: high ?? 0 }
}

export interface Allocation {
  readonly protocol: Protocol
  readonly publicPort: number
  readonly serviceId: string
  readonly port: number
}

export interface PlanInput {
  readonly serviceId: string
  readonly endpoints: ReadonlyArray<Endpoint>
  /** Every allocation on the node (this service's included). */
  readonly allocations: ReadonlyArray<Allocation>
  readonly ranges: Readonly<Record<Protocol, PortRange>>
  readonly rangeKeys?: Readonly<Record<Protocol, string>>
}

/** The endpoints with their public ports, or why they cannot have them. */
export const planEndpoints = (input: PlanInput): Either.Either<ReadonlyArray<Required<Endpoint>>, Invalid | Conflict> => {
  const key = (p: Protocol, n: number) => `${p}/${n}`
  const owner = new Map(input.allocations.map((a) => [key(a.protocol, a.publicPort), a.serviceId]))
  const mine = new Map(
    input.allocations.filter((a) => a.serviceId === input.serviceId).map((a) => [key(a.protocol, a.port), a.publicPort])
  )
  const chosen = new Set<string>()
  // Requested ports first, so an automatic pick never takes a port another endpoint of this request asks for.
  for (const [i, e] of input.endpoints.entries()) {
    if (e.publicPort === undefined) continue
    const range = input.ranges[e.protocol]
    const field = `endpoints[${i}].publicPort`
    const rangeName = input.rangeKeys?.[e.protocol] ?? `${e.protocol}_port_range`
    if (e.publicPort < range.low || e.publicPort > range.high) {
      return Either.left(
        new Invalid({ field, message: `must be within ${rangeName} ${range.low}-${range.high}, got ${e.publicPort}` })
      )
    }
    const k = key(e.protocol, e.publicPort)
    const holder = owner.get(k)
    if ((holder !== undefined && holder !== input.serviceId) || chosen.has(k)) {
      return Either.left(new Conflict({ message: `${field} ${e.protocol} port ${e.publicPort} is already allocated to another endpoint` }))
    }
    chosen.add(k)
  }
  // Then the ports endpoints already have, then the lowest free ones (a port this service gives up may be reused).
  const assigned = new Map<number, number>()
  for (const [i, e] of input.endpoints.entries()) {
    if (e.publicPort !== undefined) continue
    const kept = mine.get(key(e.protocol, e.port))
    const range = input.ranges[e.protocol]
    if (kept !== undefined && !chosen.has(key(e.protocol, kept)) && kept >= range.low && kept <= range.high) {
      chosen.add(key(e.protocol, kept))
      assigned.set(i, kept)
    }
  }
  const result: Array<Required<Endpoint>> = []
  for (const [i, e] of input.endpoints.entries()) {
    let port = e.publicPort ?? assigned.get(i)
    const range = input.ranges[e.protocol]
    for (let n = range.low; port === undefined && n <= range.high; n++) {
      const k = key(e.protocol, n)
      const holder = owner.get(k)
      if (!chosen.has(k) && (holder === undefined || holder === input.serviceId)) port = n
    }
    if (port === undefined) {
      const field = `endpoints[${i}].publicPort`
      return Either.left(new Conflict({ message: `${field}: no free ${e.protocol} port left in ${range.low}-${range.high}` }))
    }
    chosen.add(key(e.protocol, port))
    result.push({ protocol: e.protocol, port: e.port, publicPort: port })
  }
  return Either.right(result)
}
