/**
 * Per-service access log: a fixed-size ring buffer of the last requests, plus
 * the time of the last request (for idle detection by the autoscaler).
 */

export interface AccessEntry {
  readonly at: number
  readonly method: string
  readonly path: string
  readonly status: number
  readonly bytes: number
  readonly durationMs: number
  readonly replica: string | null
  readonly clientIp: string
}

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

  lastActivityAt(serviceId: string): number | undefined {
    return this.lastActivity.get(serviceId)
  }
}
