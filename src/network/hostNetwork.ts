/**
 * The host side of the node network: the bridge and its sysctls, one veth
 * pair and named network namespace per replica (two batches of `ip`
 * commands, run ahead of time for the namespace pool, ADR 0705), and
 * removing what a previous run left. Requires root; the daemon falls back to loopback-only
 * replicas when any of it is missing (`NodeNetwork`).
 */
import { Effect } from "effect"
import { access } from "node:fs/promises"
import { ipBatch, readSysctl, run, runRaw, writeSysctl } from "./command.js"
import { NetworkCommandFailed } from "./errors.js"

export interface BridgeConfig {
  readonly bridge: string
  readonly bridgeAddress: string
  readonly prefix: number
}

export interface ReplicaLink {
  readonly netns: string
  readonly veth: string
  readonly address: string
}

/** `/run/netns/<name>`: where `ip netns add` pins a namespace (what the runtime `setns()`s into). */
export const netnsPath = (name: string) => `/run/netns/${name}`

const exists = (p: string) =>
  Effect.promise(() =>
    access(p).then(
      () => true,
      () => false
    )
  )

/** Why this host cannot run the bridge network, undefined when it can (root, `ip`, `nft`, bridge and veth support). */
export const missingPieces = Effect.gen(function*() {
  if (process.getuid?.() !== 0) return "the daemon does not run as root"
  const ip = yield* runRaw("ip", ["-V"])
  if (ip.code !== 0) return "the ip command (iproute2) is not available"
  const nft = yield* runRaw("nft", ["--version"])
  if (nft.code !== 0) return "the nft command (nftables) is not available"
  if (!(yield* exists("/proc/sys/net/ipv4/ip_forward"))) return "the kernel has no IPv4 forwarding (/proc/sys/net/ipv4)"
  return undefined
})

/** Creates the bridge when missing, gives it the first address of the subnet, brings it up; per-bridge sysctls. */
export const ensureBridge = (c: BridgeConfig) =>
  Effect.gen(function*() {
    const present = yield* runRaw("ip", ["link", "show", "dev", c.bridge])
    if (present.code !== 0) yield* run("create bridge", "ip", ["link", "add", c.bridge, "type", "bridge"])
    yield* ipBatch("configure bridge", [
      `addr replace ${c.bridgeAddress}/${c.prefix} dev ${c.bridge}`,
      `link set ${c.bridge} up`
    ])
    // Replicas of one project reach each other through the host (bridge ports are isolated): forward what arrives on the bridge.
    yield* writeSysctl(`net.ipv4.conf.${c.bridge}.forwarding`, "1")
    // Host-local connections to 127.0.0.1:<publicPort> are DNATed onto the bridge; the `guard` chain drops 127/8 arriving from it.
    yield* writeSysctl(`net.ipv4.conf.${c.bridge}.route_localnet`, "1")
    if (yield* exists(`/proc/sys/net/ipv6/conf/${c.bridge}/disable_ipv6`)) {
      yield* writeSysctl(`net.ipv6.conf.${c.bridge}.disable_ipv6`, "1")
    }
  })

/** Whether the kernel forwards IPv4 between interfaces (`net.ipv4.ip_forward`). */
export const ipForwarding = readSysctl("net.ipv4.ip_forward").pipe(Effect.map((v) => v === "1"))

export const enableIpForwarding = writeSysctl("net.ipv4.ip_forward", "1")

/**
 * The replica's network namespace (`ip netns add`), a veth pair whose host
 * side is an isolated bridge port and whose peer is `eth0` inside, the
 * replica's /32 address with a route to the bridge address, `lo` up.
 */
export const createReplicaLink = (c: BridgeConfig, l: ReplicaLink) =>
  Effect.gen(function*() {
    yield* ipBatch("create veth", [
      `netns add ${l.netns}`,
      `link add ${l.veth} type veth peer name eth0 netns ${l.netns}`,
      `link set ${l.veth} master ${c.bridge}`,
      `link set dev ${l.veth} type bridge_slave isolated on learning off`,
      `link set ${l.veth} up`
    ])
    yield* ipBatch("configure replica namespace", [
      `addr add ${l.address}/32 dev eth0`,
      "link set lo up",
      "link set eth0 up",
      `route add ${c.bridgeAddress} dev eth0 scope link`,
      `route add default via ${c.bridgeAddress} dev eth0 src ${l.address}`
    ], l.netns)
  }).pipe(Effect.tapError(() => removeReplicaLinks([l])))

/** Deletes veths and namespaces (missing ones are fine: `-force` goes on past errors). */
export const removeReplicaLinks = (links: ReadonlyArray<{ readonly netns?: string; readonly veth?: string }>) => {
  const lines = links.flatMap((l) => [
    ...(l.veth === undefined ? [] : [`link del ${l.veth}`]),
    ...(l.netns === undefined ? [] : [`netns del ${l.netns}`])
  ])
  return lines.length === 0 ? Effect.void : Effect.asVoid(runRaw("ip", ["-force", "-batch", "-"], `${lines.join("\n")}\n`))
}

/** Names under `/run/netns` that start with `<prefix>` (what a crashed run may have left). */
export const namespacesWithPrefix = (prefix: string) =>
  Effect.map(runRaw("ip", ["netns", "list"]), (r) =>
    r.stdout
      .split("\n")
      .map((line) => line.split(" ")[0] ?? "")
      .filter((n) => n.startsWith(prefix)))

/** Host-side interfaces enslaved to the bridge. */
export const bridgePorts = (bridge: string) =>
  Effect.map(runRaw("ip", ["-o", "link", "show", "master", bridge]), (r) =>
    r.code !== 0
      ? []
      : r.stdout
        .split("\n")
        .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
        .filter((n): n is string => n !== undefined))

/** Removes the bridge (uninstall, tests). */
export const removeBridge = (bridge: string) =>
  Effect.flatMap(runRaw("ip", ["link", "del", bridge]), (r) =>
    r.code === 0 || /Cannot find device|does not exist/.test(r.stderr)
      ? Effect.void
      : Effect.fail(new NetworkCommandFailed({ step: "remove bridge", message: r.stderr.trim() })))
