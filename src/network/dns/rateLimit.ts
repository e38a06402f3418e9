/**
 * Per-source token buckets: each source address may send `burst` queries at
 * once and `perSecond` on average. The table is bounded; when it fills up,
 * buckets that have refilled completely (idle sources) are dropped, then the
 * oldest ones.
 */
export interface RateLimitOptions {
  readonly perSecond: number
  readonly burst: number
  /** Most sources tracked at once (default 16384). */
  readonly maxSources?: number
}

interface Bucket {
  tokens: number
  last: number
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly maxSources: number

  constructor(private readonly options: RateLimitOptions, private readonly now: () => number = () => performance.now()) {
    this.maxSources = options.maxSources ?? 16384
  }

  /** Takes one token for `source`; false when its bucket is empty. */
  take(source: string): boolean {
    const t = this.now()
    let bucket = this.buckets.get(source)
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxSources) this.evict(t)
      bucket = { tokens: this.options.burst, last: t }
      this.buckets.set(source, bucket)
    } else {
      const refill = ((t - bucket.last) / 1000) * this.options.perSecond
      bucket.tokens = Math.min(this.options.burst, bucket.tokens + refill)
      bucket.last = t
    }
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Number of sources tracked (for tests). */
  get size(): number {
    return this.buckets.size
  }

  private evict(t: number): void {
    const fullAfterMs = (this.options.burst / Math.max(this.options.perSecond, Number.MIN_VALUE)) * 1000
    for (const [source, bucket] of this.buckets) if (t - bucket.last >= fullAfterMs) this.buckets.delete(source)
    const excess = this.buckets.size - Math.floor(this.maxSources * 0.9)
    if (excess <= 0) return
    let n = 0
    for (const source of this.buckets.keys()) {
      if (n++ >= excess) break
      this.buckets.delete(source)
    }
  }
}
