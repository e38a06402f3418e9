/**
 * The service names of the node network (pure): `<service>.<project>.internal`
 * → the addresses of the service's healthy replicas. What the embedded DNS
 * server answers from.
 */
import { INTERNAL_ZONE, serviceFqdn } from "./etcFiles.js"

export type NameAnswer = ReadonlyArray<string> | "nxdomain" | "forward"

/** Lower-cased, without the trailing dot. */
const normalize = (name: string) => name.toLowerCase().replace(/\.$/, "")

export interface NamedService {
  readonly serviceName: string
  readonly projectName: string
  /** Healthy replicas' addresses (may be empty: the name exists, no address right now). */
  readonly addresses: ReadonlyArray<string>
}

export const buildNameTable = (services: ReadonlyArray<NamedService>): ReadonlyMap<string, ReadonlyArray<string>> =>
  new Map(services.map((s) => [serviceFqdn(s.serviceName, s.projectName), [...s.addresses].sort()]))

/** A-record answer for `name`: addresses, NXDOMAIN for unknown `.internal` names, or "forward" (not ours). */
export const lookupName = (table: ReadonlyMap<string, ReadonlyArray<string>>, name: string): NameAnswer => {
  const n = normalize(name)
  if (n !== INTERNAL_ZONE && !n.endsWith(`.${INTERNAL_ZONE}`)) return "forward"
  return table.get(n) ?? "nxdomain"
}
