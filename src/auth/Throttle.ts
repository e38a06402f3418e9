import { Effect } from "effect"
import { RateLimited } from "./errors.js"

interface Window {
  start: number
  count: number
}

/**
 * Fixed-window request counters per (bucket, key), in memory. A key's
 * counter never affects another key's. Windows expire lazily.
 */
export class Throttle extends Effect.Service<Throttle>()("denia/auth/Throttle", {
  sync: () => {
    const windows = new Map<string, Window>()
    let lastSweep = Date.now()

    const sweep = (now: number, windowMs: number) => {
      if (now - lastSweep < windowMs) return
      lastSweep = now
      for (const [k, w] of windows) if (now - w.start >= windowMs) windows.delete(k)
    }

    /** Counts one request; fails with 429 (retry-after in details) past `limit` per `windowMs`. */
    const hit = (bucket: string, key: string, limit: number, windowMs: number) =>
      Effect.suspend(() => {
        const now = Date.now()
        sweep(now, windowMs)
        const id = `${bucket}\u0000${key}`
        let w = windows.get(id)
        if (w === undefined || now - w.start >= windowMs) {
          w = { start: now, count: 0 }
          windows.set(id, w)
        }
        w.count += 1
        if (w.count <= limit) return Effect.void
        const retryAfterSeconds = Math.max(1, Math.ceil((w.start + windowMs - now) / 1000))
        return Effect.fail(
          new RateLimited({ message: `too many ${bucket} requests; retry in ${retryAfterSeconds} s`, retryAfterSeconds })
        )
      })

    return { hit }
  }
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}

export const LOGIN_LIMIT = { limit: 5, windowMs: 60_000 } as const
export const ADMIN_TOKEN_LIMIT = { limit: 300, windowMs: 60_000 } as const
