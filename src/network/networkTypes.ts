/**
 * What the node network is configured with and what it hands out: options,
 * status (and its one-line description for `doctor` and the service
 * status), attach requests and attachments, the table name of a bridge.
 */
import type { EtcFiles } from "../runtime/types.js"

export interface NetworkOptions {
  readonly mode: "bridge" | "loopback"
  readonly bridge: string
  readonly subnet: string
  readonly egress: boolean
  /** Upstream resolvers for names outside `.internal` (`dns_servers`); empty = the host's (`/etc/resolv.conf`). */
  readonly dnsServers: ReadonlyArray<string>
  /** Port of the embedded DNS server on the bridge address (53; tests may pick another). */
  readonly dnsPort?: number
  /** Ready namespaces kept for replica starts (`network_pool_size`); 0 or absent = none (ADR 0705). */
  readonly poolSize?: number
  /** Pause before the pool is refilled after a take (default 100 ms). */
  readonly poolRefillDelayMs?: number
}

export type NetworkStatus =
  | {
    readonly mode: "bridge"
    readonly bridge: string
    readonly bridgeAddress: string
    readonly subnet: string
    readonly table: string
    readonly egress: boolean
    readonly ipForwarding: boolean
    /** `on <address>:<port>`, or `off (<reason>)` when the server could not start. */
    readonly dns: string
  }
  | { readonly mode: "loopback"; readonly reason: string }

/** One line for `doctor` and the service status. */
export const describeNetwork = (s: NetworkStatus): string =>
  s.mode === "loopback"
    ? `loopback only (${s.reason})`
    : `bridge ${s.bridge} ${s.bridgeAddress} (${s.subnet}), nftables table inet ${s.table}, egress ${
      s.egress ? (s.ipForwarding ? "on" : "on but IPv4 forwarding is off") : "off"
    }, DNS ${s.dns}`

export interface AttachRequest {
  /** The runtime's replica id (`<service>/<deployment>/<replica>`), as published in `ReplicaStarted`. */
  readonly replicaId: string
  readonly serviceId: string
  readonly serviceName: string
  readonly projectId: string
  readonly projectName: string
  readonly hostname: string
}

export interface Attachment {
  readonly address: string
  readonly netnsPath: string
  readonly etcFiles: EtcFiles
}

/** Table of a bridge: `inet denia` for the default bridge, `inet denia_<bridge>` for any other (tests, a second node). */
export const tableFor = (bridge: string) => (bridge === "denia0" ? "denia" : `denia_${bridge}`)
