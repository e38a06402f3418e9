/**
 * ReplicaRegistry — the hand-off point between deployments and the ingress.
 *
 * The deployments pipeline tells the ingress which replicas of a service are
 * healthy and may receive traffic; the ingress proxies to them over their
 * Unix sockets through one keep-alive connection pool per replica.
 *
 * - `publish(serviceId, replicas)` atomically replaces the healthy set of a
 *   service (empty = none healthy). New requests use the new set from the next
 *   request on; requests already in flight on replicas that left the set finish
 *   normally. Replicas that stay (same id) keep their pool.
 * - `drain(serviceId, replicaIds)` completes once no request is in flight on
 *   those replicas any more (call it after publishing a set without them, then
 *   stop them: zero-downtime redeploys). Their pools are closed afterwards.
 * - The table's cold-start hook (`ReplicaTable.setActivator`): when a request
 *   arrives for a service without a healthy replica, the ingress calls
 *   `fn(serviceId)` (single flight per service, bounded wait) and retries when
 *   it answers `true` and a replica has been published meanwhile; otherwise
 *   503. Nothing installs one yet (scale-to-zero will, through a port), so the
 *   answer is 503 at once.
 *
 * The per-request path only reads plain data structures (`ReplicaTable`); the
 * Effect service is the control-plane face of the same table.
 */
import { Effect } from "effect"
import type { Pool } from "undici"
import { ReplicaAgent } from "./upstreamAgent.js"
import { makePool } from "./upstreamUndici.js"

export interface ReplicaEndpoint {
  readonly id: string
  readonly socketPath: string
}

/** One replica as the proxy sees it: its pool and in-flight count. */
export class ReplicaConn {
  inflight = 0
  retired = false
  private waiters: Array<() => void> = []
  private undiciPool: Pool | undefined
  readonly agent: ReplicaAgent
  constructor(
    readonly serviceId: string,
    readonly id: string,
    readonly socketPath: string
  ) {
    this.agent = new ReplicaAgent(socketPath)
  }
  /** undici pool for this replica (created on first use). */
  get pool(): Pool {
    if (this.undiciPool === undefined) this.undiciPool = makePool(this.socketPath)
    return this.undiciPool
  }
  /** Closes both pools. */
  close(): void {
    this.agent.destroy()
    if (this.undiciPool !== undefined) void this.undiciPool.destroy().catch(() => undefined)
  }
  acquire(): void {
    this.inflight++
  }
  release(): void {
    this.inflight--
    if (this.inflight <= 0) {
      this.inflight = 0
      const w = this.waiters
      this.waiters = []
      for (const f of w) f()
      if (this.retired) this.close()
    }
  }
  /** Resolves when nothing is in flight; closes the pool. */
  idle(): Promise<void> {
    this.retired = true
    if (this.inflight === 0) {
      this.close()
      return Promise.resolve()
    }
    return new Promise((resolve) => this.waiters.push(resolve))
  }
}

/** The healthy set of one service, immutable once published. */
export interface ReplicaSet {
  readonly replicas: ReadonlyArray<ReplicaConn>
  /** Round-robin cursor (the only mutable field, touched by the proxy). */
  next: number
}

const ACTIVATION_WAIT_MS = 30_000
const ACTIVATION_BACKOFF_MS = 5_000

/** Plain data structure read by the proxy on every request. */
export class ReplicaTable {
  private sets = new Map<string, ReplicaSet>()
  /** Replicas published at some point and not yet drained (by service, by id). */
  private known = new Map<string, Map<string, ReplicaConn>>()
  private activator: ((serviceId: string) => Promise<boolean>) | undefined
  private activations = new Map<string, Promise<boolean>>()
  private failedAt = new Map<string, number>()

  publish(serviceId: string, replicas: ReadonlyArray<ReplicaEndpoint>): void {
    let byId = this.known.get(serviceId)
    if (byId === undefined) {
      byId = new Map()
      this.known.set(serviceId, byId)
    }
    const conns: Array<ReplicaConn> = []
    for (const r of replicas) {
      let c = byId.get(r.id)
      if (c === undefined || c.socketPath !== r.socketPath || c.retired) {
        c = new ReplicaConn(serviceId, r.id, r.socketPath)
        byId.set(r.id, c)
      }
      conns.push(c)
    }
    const previous = this.sets.get(serviceId)
    this.sets.set(serviceId, { replicas: conns, next: previous?.next ?? 0 })
    if (conns.length > 0) this.failedAt.delete(serviceId)
  }

  async drain(serviceId: string, replicaIds: ReadonlyArray<string>): Promise<void> {
    const byId = this.known.get(serviceId)
    if (byId === undefined) return
    const current = new Set(this.sets.get(serviceId)?.replicas ?? [])
    const waits: Array<Promise<void>> = []
    for (const id of replicaIds) {
      const c = byId.get(id)
      if (c === undefined) continue
      if (current.has(c)) {
        // still published: take it out of the set first
        const set = this.sets.get(serviceId)
        if (set !== undefined) this.sets.set(serviceId, { replicas: set.replicas.filter((x) => x !== c), next: set.next })
      }
      byId.delete(id)
      waits.push(c.idle())
    }
    await Promise.all(waits)
  }

  /** Picks the next healthy replica round-robin; undefined when none. Call `acquire` on it synchronously. */
  pick(serviceId: string): ReplicaConn | undefined {
    const set = this.sets.get(serviceId)
    if (set === undefined) return undefined
    const n = set.replicas.length
    if (n === 0) return undefined
    const i = set.next % n
    set.next = i + 1
    return set.replicas[i]
  }

  healthyCount(serviceId: string): number {
    return this.sets.get(serviceId)?.replicas.length ?? 0
  }

  snapshot(): ReadonlyMap<string, ReadonlyArray<ReplicaEndpoint>> {
    const out = new Map<string, ReadonlyArray<ReplicaEndpoint>>()
    for (const [k, v] of this.sets) out.set(k, v.replicas.map((r) => ({ id: r.id, socketPath: r.socketPath })))
    return out
  }

  setActivator(fn: ((serviceId: string) => Promise<boolean>) | undefined): void {
    this.activator = fn
  }

  /**
   * Cold start: one activation per service at a time, bounded wait, and a
   * short backoff after a failed attempt. Resolves true when a replica is
   * healthy afterwards.
   */
  activate(serviceId: string): Promise<boolean> {
    const fn = this.activator
    if (fn === undefined) return Promise.resolve(false)
    const failed = this.failedAt.get(serviceId)
    if (failed !== undefined && Date.now() - failed < ACTIVATION_BACKOFF_MS) return Promise.resolve(false)
    const running = this.activations.get(serviceId)
    if (running !== undefined) return running
    const attempt = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ACTIVATION_WAIT_MS)
      fn(serviceId).then(
        (ok) => {
          clearTimeout(timer)
          resolve(ok)
        },
        () => {
          clearTimeout(timer)
          resolve(false)
        }
      )
    }).then((ok) => {
      this.activations.delete(serviceId)
      const healthy = ok && this.healthyCount(serviceId) > 0
      if (!healthy) this.failedAt.set(serviceId, Date.now())
      return healthy
    })
    this.activations.set(serviceId, attempt)
    return attempt
  }

  /** Closes every pool (daemon shutdown). */
  closeAll(): void {
    for (const byId of this.known.values()) for (const c of byId.values()) c.close()
    this.known.clear()
    this.sets.clear()
  }
}

export class ReplicaRegistry extends Effect.Service<ReplicaRegistry>()("denia/ingress/ReplicaRegistry", {
  scoped: Effect.gen(function*() {
    const table = new ReplicaTable()
    yield* Effect.addFinalizer(() => Effect.sync(() => table.closeAll()))
    return {
      /** The plain table the proxy reads. */
      table,
      /** Atomically replaces the healthy replicas of a service (empty = none healthy). */
      publish: (serviceId: string, replicas: ReadonlyArray<ReplicaEndpoint>) => Effect.sync(() => table.publish(serviceId, replicas)),
      /** Completes when no request is in flight on those replicas any more; removes them from the set if still there. */
      drain: (serviceId: string, replicaIds: ReadonlyArray<string>) => Effect.promise(() => table.drain(serviceId, replicaIds)),
      healthy: (serviceId: string) => Effect.sync(() => table.snapshot().get(serviceId) ?? [])
    }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
