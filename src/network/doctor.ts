/**
 * Node-network checks for `denia doctor` (nothing is changed): whether
 * replicas get the bridge network or loopback only (and why), the bridge,
 * the nftables table and IPv4 forwarding.
 */
import { Effect } from "effect"
import { runRaw } from "./command.js"
import { ipForwarding, missingPieces } from "./hostNetwork.js"
import { tableFor } from "./networkTypes.js"

export interface NetworkCheck {
  readonly name: string
  readonly level: "ok" | "warn"
  readonly detail: string
  readonly fix?: string
}

export interface NetworkCheckOptions {
  readonly mode: "bridge" | "loopback"
  readonly bridge: string
  readonly subnet: string
  readonly egress: boolean
}

export const networkChecks = (o: NetworkCheckOptions): Effect.Effect<ReadonlyArray<NetworkCheck>> =>
  Effect.gen(function*() {
    if (o.mode === "loopback") {
      return [{
        name: "network",
        level: "warn",
        detail: "loopback only (network_mode = \"loopback\")",
        fix: "set network_mode = \"bridge\""
      }]
    }
    const missing = yield* missingPieces
    if (missing !== undefined) {
      return [{
        name: "network",
        level: "warn",
        detail: `loopback only (${missing})`,
        fix: "run the daemon as root on a kernel with bridge, veth and nftables support (apt-get install iproute2 nftables)"
      }]
    }
    const checks: Array<NetworkCheck> = [{ name: "network", level: "ok", detail: `bridge ${o.bridge}, subnet ${o.subnet}` }]
    const link = yield* runRaw("ip", ["-br", "addr", "show", "dev", o.bridge])
    checks.push(
      link.code === 0
        ? { name: "bridge", level: "ok", detail: link.stdout.trim().replace(/\s+/g, " ") }
        : { name: "bridge", level: "warn", detail: `${o.bridge} does not exist yet`, fix: "the daemon creates it at start" }
    )
    const table = tableFor(o.bridge)
    const nft = yield* runRaw("nft", ["list", "table", "inet", table])
    checks.push(
      nft.code === 0
        ? { name: "nftables", level: "ok", detail: `table inet ${table} present` }
        : { name: "nftables", level: "warn", detail: `table inet ${table} not present`, fix: "the daemon creates it at start" }
    )
    const forwarding = yield* Effect.orElseSucceed(ipForwarding, () => false)
    checks.push(
      !o.egress
        ? { name: "ip forwarding", level: "ok", detail: `${forwarding ? "on" : "off"} (network_egress = false: replicas have no egress)` }
        : forwarding
        ? { name: "ip forwarding", level: "ok", detail: "on (replica egress is NATed through the host)" }
        : {
          name: "ip forwarding",
          level: "warn",
          detail: "off",
          fix: "the daemon enables net.ipv4.ip_forward at start when network_egress is on"
        }
    )
    return checks
  })
