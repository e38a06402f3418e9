/**
 * Bytes used by a volume, measured by `du -sb` in a child process (never on
 * the event loop) with a timeout, cached for a few seconds per directory so
 * a console polling the list does not rescan a large volume each time.
 */
import { execFile } from "node:child_process"

const TIMEOUT_MS = 20_000
const CACHE_MS = 10_000

export interface UsageCache {
  /** Apparent size in bytes of the tree at `dir`; null when it could not be measured in time. */
  readonly bytes: (dir: string) => Promise<number | null>
  readonly forget: (dir: string) => void
}

const du = (dir: string) =>
  new Promise<number | null>((resolve) => {
    execFile("du", ["-sb", "--", dir], { timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 }, (err, stdout) => {
      const n = Number.parseInt(stdout.split("\t")[0] ?? "", 10)
      resolve(err === null && Number.isSafeInteger(n) ? n : null)
    })
  })

export const makeUsageCache = (): UsageCache => {
  const cache = new Map<string, { readonly at: number; readonly value: Promise<number | null> }>()
  return {
    bytes: (dir) => {
      const now = Date.now()
      for (const [k, v] of cache) if (now - v.at > CACHE_MS) cache.delete(k)
      const hit = cache.get(dir)
      if (hit !== undefined) return hit.value
      const value = du(dir)
      cache.set(dir, { at: now, value })
      return value
    },
    forget: (dir) => void cache.delete(dir)
  }
}
