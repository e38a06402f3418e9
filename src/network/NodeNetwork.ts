/**
 * The node network (SPEC §12a): the bridge, one veth + network namespace +
 * address per replica, the `inet denia` nftables table (egress NAT,
 * isolation, anti-spoofing, DNAT of TCP/UDP endpoints) and the name table
 * the embedded DNS server answers from. On a host without the pieces it
 * runs in loopback mode and says why; `attach` then returns null and
 * replicas keep their loopback-only namespace. ADR 0701.
 *
 * The start path (ADR 0705): `attach` claims a ready namespace from the pool
 * (or builds one when the pool is empty) and adds it to its project's set
 * with one line to the long-lived `nft -i`; the whole table is re-rendered
 * only at boot, by the resync, when endpoint forwarding changes, or when an
 * incremental update fails.
 */
import { Context, Effect, Layer, Queue, Schedule, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import type { DatabaseError } from "../db/errors.js"
import { bridgeAddress, firstFree, parseSubnet, type Subnet, subnetCidr } from "../domain/subnet.js"
import type { DomainEvent } from "../events/DomainEvent.js"
import { Events } from "../events/Events.js"
import { AddressBook, type AddressLease } from "./AddressBook.js"
import { nftApply } from "./command.js"
import { readHostResolvers, startDnsServer } from "./dns/DnsServer.js"
import type { Allocation } from "./endpointPlan.js"
import { EndpointPorts } from "./EndpointPorts.js"
import { NetworkCommandFailed, SubnetExhausted } from "./errors.js"
import { replicaEtcFiles } from "./etcFiles.js"
import * as host from "./hostNetwork.js"
import { makeNamespacePool } from "./namespacePool.js"
import { buildNameTable, lookupName, type NameAnswer } from "./nameTable.js"
import { type Attachment, type AttachRequest, type NetworkOptions, type NetworkStatus, tableFor } from "./networkTypes.js"
import { forwardsKey, join, leave, renderedProjects, renderRuleset, replicaDown, replicaUp, type RulesetForward } from "./nftRuleset.js"
import { makeNftSession } from "./nftSession.js"

export { type Attachment, type AttachRequest, describeNetwork, type NetworkOptions, type NetworkStatus, tableFor } from "./networkTypes.js"
export { teardownNetwork } from "./teardown.js"

interface Attached extends AddressLease {
  readonly serviceName: string
  readonly projectName: string
  /** Tag of the project's member set and chain in the table. */
  readonly tag: number
}

export interface NodeNetworkApi {
  readonly status: NetworkStatus
  /** Sets up the replica's namespace (scoped: closing the scope tears it down); null in loopback mode. */
  readonly attach: (
    req: AttachRequest
  ) => Effect.Effect<Attachment | null, NetworkCommandFailed | SubnetExhausted | DatabaseError, Scope.Scope>
  /** A-record answer for a name (what the DNS server serves). */
  readonly resolve: (name: string) => NameAnswer
  /** Namespaces waiting in the pool now. */
  readonly pooled: Effect.Effect<number>
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
      resolve: () => "nxdomain",
      pooled: Effect.succeed(0)
    } satisfies NodeNetworkApi
  )

const make = (options: NetworkOptions) =>
  Effect.gen(function*() {
    if (options.mode === "loopback") return yield* loopback("network_mode = \"loopback\"")
    const subnet = parseSubnet(options.subnet)
    if (subnet === undefined) return yield* loopback(`network_subnet ${options.subnet} is not usable`)
    const missing = yield* host.missingPieces
    if (missing !== undefined) return yield* loopback(missing)
    // A host command that fails means no bridge network (said why); a broken database fails the daemon's start.
    return yield* start(options, subnet).pipe(
      Effect.catchTag("denia/network/NetworkCommandFailed", (e) =>
        Effect.zipRight(Effect.logWarning("network: cannot set up the bridge network", e), loopback(`${e.step} failed`)))
    )
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

    // Boot sweep: what a previous run (even one killed with SIGKILL) left behind. Every namespace and veth is
    // leased before it is created (pooled ones too), so the leases name all of it (and nothing of another daemon on this host).
    const leases = yield* book.list
    yield* host.removeReplicaLinks(leases)
    yield* book.releaseAll
    if (leases.length > 0) {
      yield* Effect.logInfo(`network: boot sweep removed ${leases.length} stale replica namespace(s) with their veths and addresses`)
    }

    const session = yield* makeNftSession()
    /** Every namespace on the bridge (pooled and attached), by address. */
    const links = new Map<string, host.ReplicaLink>()
    /** Addresses leased for a namespace being built or torn down (not free, not yet or no longer in `links`). */
    const reserved = new Set<string>()
    /** Removed namespaces whose rules could not be removed: their addresses stay leased until a full render succeeds. */
    let quarantined: Array<host.ReplicaLink> = []
    const attached = new Map<string, Attached>()
    const healthy = new Map<string, Set<string>>()
    /** Project id → tag of its set and chain (`project_<tag>`); `inTable`: the tags whose set and chain exist now. */
    const tags = new Map<string, number>()
    let inTable: ReadonlySet<number> = new Set()
    let allocations: ReadonlyArray<Allocation> = yield* ports.list
    let appliedForwards: string | undefined
    let names: ReadonlyMap<string, ReadonlyArray<string>> = new Map()
    const lock = yield* Effect.makeSemaphore(1)

    const healthyAddresses = (serviceId: string) =>
      [...(healthy.get(serviceId) ?? [])].flatMap((id) => {
        const a = attached.get(id)
        return a === undefined ? [] : [a.address]
      }).sort()
    const forwards = (): Array<RulesetForward> =>
      allocations.map((a) => ({
        protocol: a.protocol,
        publicPort: a.publicPort,
        targetPort: a.port,
        backends: healthyAddresses(a.serviceId)
      }))
    const tagOf = (projectId: string) => {
      const known = tags.get(projectId)
      if (known !== undefined) return known
      const tag = tags.size === 0 ? 0 : Math.max(...tags.values()) + 1
      tags.set(projectId, tag)
      return tag
    }

    const refreshNames = () => {
      const services = new Map<string, Attached>()
      for (const a of attached.values()) services.set(a.serviceId, a)
      names = buildNameTable(
        [...services.values()].map((a) => ({
          serviceName: a.serviceName,
          projectName: a.projectName,
          addresses: healthyAddresses(a.serviceId)
        }))
      )
    }

    /** The whole table from the state, one transaction (boot, resync, DNAT changes, a failed incremental update). */
    const fullApply = Effect.gen(function*() {
      const members = new Map([...attached.values()].map((a) => [a.address, a.tag]))
      const replicas = [...links.values()].map((l) => ({ veth: l.veth, address: l.address, project: members.get(l.address) ?? null }))
      const fw = forwards()
      yield* nftApply(
        "apply nftables rules",
        renderRuleset({
          table,
          bridge,
          bridgeAddress: gateway,
          subnet: subnetCidr(subnet),
          egress: options.egress,
          replicas,
          forwards: fw
        })
      )
      inTable = renderedProjects(replicas)
      appliedForwards = forwardsKey(fw)
      refreshNames()
      // the table no longer names them: their addresses may be given out again
      const free = quarantined
      quarantined = []
      for (const l of free) {
        yield* book.release(l.address).pipe(Effect.catchAll((e) => Effect.logWarning("network: releasing an address failed", e)))
        reserved.delete(l.address)
      }
    })

    /** Inside the lock, after the state changed: `commands` on the session, or the full render when DNAT changes or they fail. */
    const sync = (step: string, commands: ReadonlyArray<string>) =>
      forwardsKey(forwards()) !== appliedForwards
        ? fullApply
        : session.run(step, commands).pipe(
          Effect.zipRight(Effect.sync(refreshNames)),
          Effect.catchAll((e) =>
            Effect.zipRight(Effect.logWarning(`network: ${step} incrementally failed; re-rendering the table`, e), fullApply)
          )
        )

    yield* fullApply

    /** Leases an address and names, builds the namespace and its anti-spoofing chain; the lease names `owner` (a replica or the pool). */
    const buildLink = (owner: { readonly replicaId: string; readonly serviceId: string; readonly projectId: string }) =>
      Effect.gen(function*() {
        const link = yield* lock.withPermits(1)(Effect.gen(function*() {
          const address = firstFree(subnet, new Set([...links.keys(), ...reserved]))
          if (address === undefined) return yield* new SubnetExhausted({ subnet: options.subnet })
          const hex = randomBytes(4).toString("hex")
          const l: host.ReplicaLink = { address, netns: `${bridge}-${hex}`, veth: `dn${hex}` }
          // Recorded before anything exists on the host, so a crash in between is swept at the next boot.
          yield* book.insert({ ...l, ...owner }).pipe(
            Effect.catchTag("denia/domain/Conflict", (e) =>
              Effect.fail(new NetworkCommandFailed({ step: "lease address", message: e.message })))
          )
          reserved.add(address)
          return l
        }))
        const forget = lock.withPermits(1)(Effect.gen(function*() {
          yield* Effect.ignore(book.release(link.address))
          reserved.delete(link.address)
        }))
        yield* host.createReplicaLink(cfg, link).pipe(Effect.tapError(() =>
          forget
        ))
        yield* lock.withPermits(1)(Effect.gen(function*() {
          reserved.delete(link.address)
          links.set(link.address, link)
          yield* sync("add anti-spoofing chain", replicaUp(table, link.veth, link.address))
        })).pipe(Effect.tapError(() => Effect.zipRight(removeLinks([link]), forget)))
        return link
      })

    /**
     * Removes namespaces (their processes are gone): rules first, then the host side, then the leases. When the
     * rules cannot be removed (incremental and full render failed), the addresses stay leased — an address still
     * in a project's set is never given to another replica — until a full render (the resync) succeeds.
     */
    const removeLinks = (gone: ReadonlyArray<host.ReplicaLink>, extra: ReadonlyArray<string> = []) =>
      Effect.gen(function*() {
        if (gone.length === 0) return
        const ruled = yield* lock.withPermits(1)(Effect.gen(function*() {
          for (const l of gone) {
            links.delete(l.address)
            reserved.add(l.address)
          }
          return yield* sync("remove replica rules", [...extra, ...gone.flatMap((l) => replicaDown(table, l.veth))]).pipe(
            Effect.as(true),
            Effect.catchAll((e) =>
              Effect.as(
                Effect.logWarning("network: rule update on detach failed; the addresses stay leased until the next resync", e),
                false
              )
            )
          )
        }))
        yield* host.removeReplicaLinks(gone)
        if (!ruled) {
          yield* lock.withPermits(1)(Effect.sync(() => void quarantined.push(...gone)))
          return
        }
        yield* lock.withPermits(1)(Effect.forEach(gone, (l) =>
          Effect.zipRight(
            book.release(l.address).pipe(Effect.catchAll((e) => Effect.logWarning("network: releasing an address failed", e))),
            Effect.sync(() => reserved.delete(l.address))
          )))
      })

    const pool = yield* makeNamespacePool({
      size: options.poolSize ?? 0,
      refillDelayMs: options.poolRefillDelayMs ?? 100,
      create: Effect.suspend(() => buildLink({ replicaId: `pool/${randomBytes(4).toString("hex")}`, serviceId: "", projectId: "" })),
      discard: (ls) => removeLinks(ls)
    })

    // The embedded DNS server on the bridge address: `.internal` names from the table above, the rest forwarded.
    const dnsPort = options.dnsPort ?? 53
    const dns = yield* Effect.gen(function*() {
      const upstreams = options.dnsServers.length > 0 ? options.dnsServers : yield* readHostResolvers()
      return yield* startDnsServer({
        address: gateway,
        port: dnsPort,
        zone: ".internal",
        resolve: (fqdn) => Effect.sync(() => names.get(fqdn) ?? null),
        // the table object is replaced on every change: cached answers live exactly as long as it does
        zoneVersion: () => names,
        upstreams
      })
    }).pipe(
      Effect.map((server) => `on ${server.address}:${server.port}`),
      Effect.catchAll((e) => Effect.as(Effect.logWarning("network: the embedded DNS server did not start", e), `off (${e.message})`))
    )
    // The table stays between runs (forwarding of running services is restored as they start again); uninstall removes it.

    const detach = (a: Attached) =>
      Effect.suspend(() => {
        attached.delete(a.replicaId)
        return removeLinks([a], leave(table, a.address, a.tag))
      })

    /** Makes `link` the replica's: lease, set membership (before the replica starts), names. */
    const claim = (req: AttachRequest, link: host.ReplicaLink, leased: boolean) =>
      lock.withPermits(1)(Effect.gen(function*() {
        if (!leased) {
          yield* book.assign(link.address, req).pipe(
            Effect.catchTag(
              "denia/domain/Conflict",
              (e) => Effect.fail(new NetworkCommandFailed({ step: "lease address", message: e.message }))
            )
          )
        }
        const tag = tagOf(req.projectId)
        const a: Attached = { ...link, ...req, tag }
        attached.set(a.replicaId, a)
        yield* sync("add replica to its project", join(table, a.address, tag, !inTable.has(tag))).pipe(
          Effect.tap(() => Effect.sync(() => (inTable = new Set([...inTable, tag])))),
          Effect.tapError(() => Effect.sync(() => attached.delete(a.replicaId)))
        )
        return a
      })).pipe(Effect.tapError(() => removeLinks([link])))

    const attach = (req: AttachRequest) =>
      Effect.gen(function*() {
        const pooled = yield* pool.take
        const lease = pooled === undefined
          ? yield* Effect.flatMap(buildLink(req), (link) => claim(req, link, true))
          : yield* claim(req, pooled, false)
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
      }).pipe(Effect.uninterruptible)

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
        // DNAT only changes when an endpoint's backends do; names always follow the healthy replicas.
        yield* lock.withPermits(1)(sync("update names", [])).pipe(
          Effect.catchAll((e) => Effect.logWarning("network: rule update failed", e))
        )
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
      yield* fullApply
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
      resolve: (name) => lookupName(names, name),
      pooled: pool.ready
    } satisfies NodeNetworkApi
  })
