/**
 * The node network (SPEC §12a): the bridge, one veth + network namespace +
 * address per replica, the `inet denia` nftables table (egress NAT,
 * isolation, anti-spoofing, DNAT of TCP/UDP endpoints) and the name table
 * the embedded DNS server answers from. On a host without the pieces it
 * runs in loopback mode and says why; `attach` then returns null and
 * replicas keep their loopback-only namespace. ADR 0701.
 */
import { Context, Effect, Layer, Queue, Schedule, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import type { DatabaseError } from "../db/errors.js"
import { bridgeAddress, firstFree, parseSubnet, type Subnet, subnetCidr } from "../domain/subnet.js"
import type { DomainEvent } from "../events/DomainEvent.js"
import { Events } from "../events/Events.js"
import type { EtcFiles } from "../runtime/types.js"
import { AddressBook, type AddressLease } from "./AddressBook.js"
import { nftApply } from "./command.js"
import { readHostResolvers, startDnsServer } from "./dns/DnsServer.js"
import type { Allocation } from "./endpointPlan.js"
import { EndpointPorts } from "./EndpointPorts.js"
import { NetworkCommandFailed, SubnetExhausted } from "./errors.js"
import { replicaEtcFiles } from "./etcFiles.js"
import * as host from "./hostNetwork.js"
import { buildNameTable, lookupName, type NameAnswer } from "./nameTable.js"
import { removalScript, renderRuleset, type RulesetForward } from "./nftRuleset.js"

export interface NetworkOptions {
  readonly mode: "bridge" | "loopback"
  readonly bridge: string
  readonly subnet: string
  readonly egress: boolean
  /** Upstream resolvers for names outside `.internal` (`dns_servers`); empty = the host's (`/etc/resolv.conf`). */
  readonly dnsServers: ReadonlyArray<string>
  /** Port of the embedded DNS server on the bridge address (53; tests may pick another). */
  readonly dnsPort?: number
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

interface Attached extends AddressLease {
  readonly serviceName: string
  readonly projectName: string
}

export interface NodeNetworkApi {
  readonly status: NetworkStatus
  /** Sets up the replica's namespace (scoped: closing the scope tears it down); null in loopback mode. */
  readonly attach: (
    req: AttachRequest
  ) => Effect.Effect<Attachment | null, NetworkCommandFailed | SubnetExhausted | DatabaseError, Scope.Scope>
  /** A-record answer for a name (what the DNS server serves). */
  readonly resolve: (name: string) => NameAnswer
}

export class NodeNetwork extends Context.Tag("denia/network/NodeNetwork")<NodeNetwork, NodeNetworkApi>() {
  static readonly layer = (options: NetworkOptions) => Layer.scoped(NodeNetwork, make(options))
}

const loopback = (reason: string) =>
  Effect.as(
    Effect.logWarning(`network: loopback only (${reason})`),
    {
      status: { mode: "loopback", reason },
      attach: () => Effect.succeed(null),
      resolve: () => "nxdomain"
    } satisfies NodeNetworkApi
  )

const make = (options: NetworkOptions) =>
  Effect.gen(function*() {
    if (options.mode === "loopback") return yield* loopback("network_mode = \"loopback\"")
    const subnet = parseSubnet(options.subnet)
    if (subnet === undefined) return yield* loopback(`network_subnet ${options.subnet} is not usable`)
    const missing = yield* host.missingPieces
    if (missing !== undefined) return yield* loopback(missing)
    const started = yield* Effect.either(start(options, subnet))
    if (started._tag === "Left") {
      yield* Effect.logWarning("network: cannot set up the bridge network", started.left)
      return yield* loopback(`${started.left.step} failed`)
    }
    return started.right
  })

const start = (options: NetworkOptions, subnet: Subnet) =>
  Effect.gen(function*() {
    const book = yield* AddressBook
    const ports = yield* EndpointPorts
    const events = yield* Events
    const bridge = options.bridge
    const gateway = bridgeAddress(subnet)
    const table = tableFor(bridge)
    const cfg: host.BridgeConfig = { bridge, bridgeAddress: gateway, prefix: subnet.prefix }

    yield* host.ensureBridge(cfg)
    let ipForwarding = yield* host.ipForwarding
    if (options.egress && !ipForwarding) {
      yield* host.enableIpForwarding
      ipForwarding = true
      yield* Effect.logInfo("network: enabled IPv4 forwarding (net.ipv4.ip_forward = 1) for replica egress")
    }

    // Boot sweep: what a previous run (even one killed with SIGKILL) left behind.
    const leases = yield* book.list.pipe(Effect.orDie)
    const strayNs = yield* host.namespacesWithPrefix(`${bridge}-`)
    const strayPorts = (yield* host.bridgePorts(bridge)).filter((n) => n.startsWith("dn"))
    const stray = [...leases, ...strayNs.map((netns) => ({ netns })), ...strayPorts.map((veth) => ({ veth }))]
    yield* host.removeReplicaLinks(stray)
    yield* book.releaseAll.pipe(Effect.orDie)
    const swept = new Set([...leases.map((l) => l.netns), ...strayNs]).size
    if (swept > 0) yield* Effect.logInfo(`network: boot sweep removed ${swept} stale replica namespace(s) with their veths and addresses`)

    const attached = new Map<string, Attached>()
    const healthy = new Map<string, Set<string>>()
    let allocations: ReadonlyArray<Allocation> = yield* ports.list.pipe(Effect.orDie)
    let names: ReadonlyMap<string, ReadonlyArray<string>> = new Map()
    const lock = yield* Effect.makeSemaphore(1)

    const healthyAddresses = (serviceId: string) =>
      [...(healthy.get(serviceId) ?? [])].flatMap((id) => {
        const a = attached.get(id)
        return a === undefined ? [] : [a.address]
      }).sort()

    const apply = Effect.gen(function*() {
      const forwards: Array<RulesetForward> = allocations.map((a) => ({
        protocol: a.protocol,
        publicPort: a.publicPort,
        targetPort: a.port,
        backends: healthyAddresses(a.serviceId)
      }))
      const script = renderRuleset({
        table,
        bridge,
        bridgeAddress: gateway,
        subnet: subnetCidr(subnet),
        egress: options.egress,
        replicas: [...attached.values()].map((a) => ({ veth: a.veth, address: a.address, projectId: a.projectId })),
        forwards
      })
      yield* nftApply("apply nftables rules", script)
      const services = new Map<string, Attached>()
      for (const a of attached.values()) services.set(a.serviceId, a)
      names = buildNameTable(
        [...services.values()].map((a) => ({
          serviceName: a.serviceName,
          projectName: a.projectName,
          addresses: healthyAddresses(a.serviceId)
        }))
      )
    })

    yield* apply
    // The embedded DNS server on the bridge address: `.internal` names from the table above, the rest forwarded.
    const dnsPort = options.dnsPort ?? 53
    const dns = yield* Effect.gen(function*() {
      const upstreams = options.dnsServers.length > 0 ? options.dnsServers : yield* readHostResolvers()
      return yield* startDnsServer({
        address: gateway,
        port: dnsPort,
        zone: ".internal",
        resolve: (fqdn) => Effect.sync(() => names.get(fqdn) ?? null),
        upstreams
      })
    }).pipe(
      Effect.map((server) => `on ${server.address}:${server.port}`),
      Effect.catchAll((e) => Effect.as(Effect.logWarning("network: the embedded DNS server did not start", e), `off (${e.message})`))
    )
    // The table stays between runs (forwarding of running services is restored as they start again); uninstall removes it.

    const detach = (a: Attached) =>
      lock.withPermits(1)(
        Effect.gen(function*() {
          attached.delete(a.replicaId)
          yield* apply.pipe(Effect.catchAll((e) => Effect.logWarning("network: rule update on detach failed", e)))
          yield* host.removeReplicaLinks([a])
          yield* book.release(a.address).pipe(Effect.catchAll((e) => Effect.logWarning("network: releasing an address failed", e)))
        })
      )

    const attach = (req: AttachRequest) =>
      Effect.gen(function*() {
        const lease = yield* lock.withPermits(1)(
          Effect.gen(function*() {
            const taken = new Set([...attached.values()].map((a) => a.address))
            const address = firstFree(subnet, taken)
            if (address === undefined) return yield* new SubnetExhausted({ subnet: options.subnet })
            const hex = randomBytes(4).toString("hex")
            const l: Attached = {
              address,
              replicaId: req.replicaId,
              serviceId: req.serviceId,
              projectId: req.projectId,
              netns: `${bridge}-${hex}`,
              veth: `dn${hex}`,
              serviceName: req.serviceName,
              projectName: req.projectName
            }
            // Recorded before anything exists on the host, so a crash in between is swept at the next boot.
            yield* book.insert(l).pipe(
              Effect.catchTag(
                "denia/domain/Conflict",
                (e) => Effect.fail(new NetworkCommandFailed({ step: "lease address", message: e.message }))
              )
            )
            yield* host.createReplicaLink(cfg, l).pipe(Effect.tapError(() => Effect.ignore(book.release(l.address))))
            attached.set(l.replicaId, l)
            yield* apply.pipe(Effect.tapError(() => detachNow(l)))
            return l
          })
        )
        yield* Effect.addFinalizer(() => detach(lease))
        return {
          address: lease.address,
          netnsPath: host.netnsPath(lease.netns),
          etcFiles: replicaEtcFiles({
            hostname: req.hostname,
            address: lease.address,
            nameserver: gateway,
            serviceName: req.serviceName,
            projectName: req.projectName
          })
        } satisfies Attachment
      })

    /** Inside the lock (attach failed after the link existed). */
    const detachNow = (a: Attached) =>
      Effect.gen(function*() {
        attached.delete(a.replicaId)
        yield* host.removeReplicaLinks([a])
        yield* Effect.ignore(book.release(a.address))
        yield* Effect.ignore(apply)
      })

    // Healthy replicas and endpoint allocations come from the event bus; a burst is applied in one transaction.
    const queue = yield* events.subscribe
    const absorb = (e: DomainEvent) => {
      if (e._tag === "ReplicaStarted") {
        healthy.set(e.serviceId, new Set([...(healthy.get(e.serviceId) ?? []), e.replicaId]))
      } else if (e._tag === "ReplicaStopped") {
        const set = healthy.get(e.serviceId)
        set?.delete(e.replicaId)
        if (set !== undefined && set.size === 0) healthy.delete(e.serviceId)
      }
      return e._tag === "ReplicaStarted" || e._tag === "ReplicaStopped"
        ? "rules"
        : e._tag === "ServiceCreated" || e._tag === "ServiceUpdated" || e._tag === "ServiceDeleted"
        ? "ports"
        : "none"
    }
    const handleBurst = Effect.gen(function*() {
      const first = yield* Queue.take(queue)
      yield* Effect.yieldNow()
      const rest = yield* Queue.takeAll(queue)
      const kinds = new Set([first, ...rest].map(absorb))
      if (kinds.has("ports")) {
        allocations = yield* ports.list.pipe(
          Effect.catchAll((e) => Effect.as(Effect.logWarning("network: reading endpoint ports failed", e), allocations))
        )
      }
      if (kinds.has("rules") || kinds.has("ports")) {
        yield* lock.withPermits(1)(apply).pipe(Effect.catchAll((e) => Effect.logWarning("network: rule update failed", e)))
      }
    })
    yield* handleBurst.pipe(
      Effect.catchAllCause((c) => Effect.logWarning("network: event handling failed", c)),
      Effect.forever,
      Effect.forkScoped
    )
    // Safety resync (a missed event, a failed apply): the rules are re-rendered from the state every 60 s.
    const resync = Effect.gen(function*() {
      allocations = yield* ports.list
      yield* apply
    })
    yield* lock.withPermits(1)(resync).pipe(
      Effect.catchAll((e) => Effect.logWarning("network: periodic rule resync failed", e)),
      Effect.repeat(Schedule.spaced("60 seconds")),
      Effect.delay("60 seconds"),
      Effect.forkScoped
    )

    return {
      status: {
        mode: "bridge",
        bridge,
        bridgeAddress: gateway,
        subnet: subnetCidr(subnet),
        table,
        egress: options.egress,
        ipForwarding,
        dns
      },
      attach,
      resolve: (name) => lookupName(names, name)
    } satisfies NodeNetworkApi
  })

/** Removes what the node network put on the host for `bridge`: the nftables table, replica namespaces and veths, the bridge. */
export const teardownNetwork = (bridge: string) =>
  Effect.gen(function*() {
    const ns = yield* host.namespacesWithPrefix(`${bridge}-`)
    const veths = (yield* host.bridgePorts(bridge)).filter((n) => n.startsWith("dn"))
    yield* host.removeReplicaLinks([...ns.map((netns) => ({ netns })), ...veths.map((veth) => ({ veth }))])
    yield* nftApply("remove nftables table", removalScript(tableFor(bridge)))
    yield* host.removeBridge(bridge)
  })
