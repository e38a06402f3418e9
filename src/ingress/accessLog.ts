/**
 * Per-service access log: a fixed-size ring buffer of the last requests, the
 * time of the last request (for idle detection by the autoscaler), and
 * counters of the upstream failures the ingress answered for (ADR 0502).
 */
import type { UpstreamErrorKind } from "./upstreamErrors.js"

export interface AccessEntry {
  readonly at: number
  readonly method: string
  readonly path: string
  readonly status: number
  readonly bytes: number
  readonly durationMs: number
  readonly replica: string | null
  readonly clientIp: string
  /** Why the ingress answered 502/503/504 (or cut the response), e.g. `upstream reset: other side closed`; null otherwise. */
  readonly error?: string | null
}

export type ErrorCounts = Readonly<Record<UpstreamErrorKind, number>>

const zeroCounts = (): Record<UpstreamErrorKind, number> => ({
  parseError: 0,
  reset: 0,
  timeout: 0,
  connectFailed: 0,
  noHealthyReplica: 0
})

class Ring {
  private readonly items: Array<AccessEntry | undefined>
  private head = 0
  private size = 0
  constructor(private readonly capacity: number) {
    this.items = new Array<AccessEntry | undefined>(capacity)
  }
  push(e: AccessEntry): void {
    this.items[this.head] = e
    this.head = (this.head + 1) % this.capacity
    if (this.size < this.capacity) this.size++
  }
  /** Newest first. */
  newest(limit: number): Array<AccessEntry> {
    const out: Array<AccessEntry> = []
    const n = Math.min(limit, this.size)
    for (let i = 1; i <= n; i++) {
      const e = this.items[(this.head - i + this.capacity) % this.capacity]
      if (e !== undefined) out.push(e)
    }
    return out
  }
}

export class AccessLogs {
  private readonly rings = new Map<string, Ring>()
  private readonly lastActivity = new Map<string, number>()
  private readonly failures = new Map<string, Record<UpstreamErrorKind, number>>()
  /** Counters start with the process. */
  readonly countingSince = Date.now()
  constructor(private readonly capacity = 1000) {}

  record(serviceId: string, e: AccessEntry): void {
    let r = this.rings.get(serviceId)
    if (r === undefined) {
      r = new Ring(this.capacity)
      this.rings.set(serviceId, r)
    }
    r.push(e)
    this.lastActivity.set(serviceId, e.at)
  }

  /** Marks activity without a finished request (e.g. a request that just arrived). */
  touch(serviceId: string, at: number): void {
    this.lastActivity.set(serviceId, at)
  }

  recent(serviceId: string, limit: number): ReadonlyArray<AccessEntry> {
    return this.rings.get(serviceId)?.newest(limit) ?? []
  }

  /** Counts one upstream failure of a service. */
  countFailure(serviceId: string, kind: UpstreamErrorKind): void {
    let c = this.failures.get(serviceId)
    if (c === undefined) {
      c = zeroCounts()
      this.failures.set(serviceId, c)
    }
    c[kind]++
  }

  failureCounts(serviceId: string): ErrorCounts {
    return { ...(this.failures.get(serviceId) ?? zeroCounts()) }
  }

  lastActivityAt(serviceId: string): number | undefined {
    return this.lastActivity.get(serviceId)
  }
}
