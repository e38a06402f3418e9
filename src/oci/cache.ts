import { createHash, randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { publishFilePromise } from "../platform/atomicWrite.js"

export type VerifyOnHit = "none" | "size" | "full"

export interface CacheStatus {
  readonly entries: number
  readonly totalBytes: number
  /** Age of the least recently used entry; 0 when the cache is empty. */
  readonly oldestEntryAgeSeconds: number
  readonly lastGcAt: string | null
  readonly lastGcDeletedBytes: number
}

export interface GcReport {
  readonly startedAt: string
  readonly scanned: number
  readonly deleted: number
  readonly deletedBytes: number
  readonly keptPinned: number
  readonly keptReserved: number
  readonly keptRecent: number
}

export interface CacheEntry {
  readonly path: string
  /** True when the blob was already present and passed verify-on-hit. */
  readonly hit: boolean
}

const hexOf = (digest: string): string => {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest)
  if (!m || m[1] === undefined) throw new Error(`not a sha256 digest: ${digest}`)
  return m[1]
}

const isBlobName = (name: string) => /^[a-f0-9]{64}$/.test(name)
const SIDE = ".last-used"

/** Hashes a file; used by verify-on-hit `full`. */
export const sha256File = (file: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const h = createHash("sha256")
    const s = createReadStream(file)
    s.on("data", (c) => h.update(c))
    s.on("error", reject)
    s.on("end", () => resolve(`sha256:${h.digest("hex")}`))
  })

/**
 * Content-addressed blob cache `<root>/blobs/sha256/<hex>` with a `<hex>.last-used`
 * sidecar. Plain promise code: the single-threaded event loop makes the
 * synchronous bookkeeping below (reservations, in-flight map, deletions) the
 * lock between pulls and GC.
 */
export class LayerCache {
  readonly blobDir: string
  readonly tmpDir: string
  private readonly stateFile: string
  private readonly inflight = new Map<string, Promise<CacheEntry>>()
  private readonly reservations = new Map<string, number>()
  private readonly deleting = new Map<string, Promise<void>>()
  private gcRunning: Promise<GcReport> | undefined

  constructor(
    readonly root: string,
    private readonly verifyOnHit: VerifyOnHit,
    private readonly now: () => number = Date.now
  ) {
    this.blobDir = path.join(root, "blobs", "sha256")
    this.tmpDir = path.join(root, "tmp")
    this.stateFile = path.join(root, "gc-state.json")
  }

  async init(): Promise<void> {
    await fs.mkdir(this.blobDir, { recursive: true, mode: 0o700 })
    await fs.mkdir(this.tmpDir, { recursive: true, mode: 0o700 })
  }

  blobPath(digest: string): string {
    return path.join(this.blobDir, hexOf(digest))
  }

  /** Holds a digest against GC until the returned release is called (idempotent). */
  reserve(digest: string): () => void {
    this.reservations.set(digest, (this.reservations.get(digest) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const n = (this.reservations.get(digest) ?? 1) - 1
      if (n <= 0) this.reservations.delete(digest)
      else this.reservations.set(digest, n)
    }
  }

  isReserved(digest: string): boolean {
    return (this.reservations.get(digest) ?? 0) > 0 || this.inflight.has(digest)
  }

  /**
   * Returns the cached blob, fetching it with `fetch(tmpPath)` on a miss (or a
   * failed verify-on-hit). `fetch` must leave a verified, fsynced file at
   * tmpPath. One fetch per digest at a time; concurrent callers share it.
   */
  ensure(digest: string, size: number, fetch: (tmpPath: string) => Promise<void>): Promise<CacheEntry> {
    const running = this.inflight.get(digest)
    if (running) return running.then((e) => ({ ...e, hit: true }))
    const p = this.ensureOnce(digest, size, fetch).finally(() => this.inflight.delete(digest))
    this.inflight.set(digest, p)
    return p
  }

  private async ensureOnce(digest: string, size: number, fetch: (tmpPath: string) => Promise<void>): Promise<CacheEntry> {
    const pending = this.deleting.get(digest)
    if (pending) await pending.catch(() => undefined)
    const file = this.blobPath(digest)
    const st = await fs.lstat(file).catch(() => undefined)
    if (st !== undefined && st.isFile()) {
      const ok = this.verifyOnHit === "none"
        ? true
        : st.size === size && (this.verifyOnHit === "size" || (await sha256File(file)) === digest)
      if (ok) {
        await this.touch(digest)
        return { path: file, hit: true }
      }
      await fs.rm(file, { force: true })
    }
    const tmp = path.join(this.tmpDir, `${hexOf(digest)}.${randomBytes(6).toString("hex")}`)
    try {
      await fetch(tmp)
      await publishFilePromise(tmp, file, { mode: 0o600 })
    } catch (e) {
      await fs.rm(tmp, { force: true })
      throw e
    }
    await this.touch(digest)
    return { path: file, hit: false }
  }

  /** Records "used now" in the sidecar. */
  async touch(digest: string): Promise<void> {
    const side = `${this.blobPath(digest)}${SIDE}`
    await fs.writeFile(side, String(this.now()), { mode: 0o600 })
  }

  /** Refreshes last-used only for blobs still in the cache. */
  async touchIfPresent(digest: string): Promise<void> {
    const st = await fs.lstat(this.blobPath(digest)).catch(() => undefined)
    if (st !== undefined && st.isFile()) await this.touch(digest)
  }

  private async lastUsed(hex: string, fallback: number): Promise<number> {
    const raw = await fs.readFile(path.join(this.blobDir, `${hex}${SIDE}`), "utf8").catch(() => "")
    const n = Number(raw.trim())
    return raw !== "" && Number.isFinite(n) ? n : fallback
  }

  private async readState(): Promise<{ lastGcAt: string | null; lastGcDeletedBytes: number }> {
    try {
      const parsed: unknown = JSON.parse(await fs.readFile(this.stateFile, "utf8"))
      if (typeof parsed === "object" && parsed !== null) {
        const at = "lastGcAt" in parsed && typeof parsed.lastGcAt === "string" ? parsed.lastGcAt : null
        const bytes = "lastGcDeletedBytes" in parsed && typeof parsed.lastGcDeletedBytes === "number" ? parsed.lastGcDeletedBytes : 0
        return { lastGcAt: at, lastGcDeletedBytes: bytes }
      }
    } catch {
      // no GC has run yet
    }
    return { lastGcAt: null, lastGcDeletedBytes: 0 }
  }

  async status(): Promise<CacheStatus> {
    const names = await fs.readdir(this.blobDir).catch(() => [] as Array<string>)
    let entries = 0
    let totalBytes = 0
    let oldest = Infinity
    for (const name of names) {
      if (!isBlobName(name)) continue
      const st = await fs.lstat(path.join(this.blobDir, name)).catch(() => undefined)
      if (st === undefined || !st.isFile()) continue
      entries++
      totalBytes += st.size
      oldest = Math.min(oldest, await this.lastUsed(name, st.mtimeMs))
    }
    const state = await this.readState()
    return {
      entries,
      totalBytes,
      oldestEntryAgeSeconds: entries === 0 ? 0 : Math.max(0, Math.floor((this.now() - oldest) / 1000)),
      lastGcAt: state.lastGcAt,
      lastGcDeletedBytes: state.lastGcDeletedBytes
    }
  }

  /**
   * Deletes blobs unused for longer than `retentionMs` that are neither pinned
   * nor reserved/in flight. Concurrent calls share one run.
   */
  gc(retentionMs: number, pinned: ReadonlySet<string>): Promise<GcReport> {
    if (this.gcRunning) return this.gcRunning
    const run = this.gcOnce(retentionMs, pinned).finally(() => {
      this.gcRunning = undefined
    })
    this.gcRunning = run
    return run
  }

  private async gcOnce(retentionMs: number, pinned: ReadonlySet<string>): Promise<GcReport> {
    const startedAt = new Date(this.now()).toISOString()
    const cutoff = this.now() - retentionMs
    const names = await fs.readdir(this.blobDir).catch(() => [] as Array<string>)
    let scanned = 0
    let deleted = 0
    let deletedBytes = 0
    let keptPinned = 0
    let keptReserved = 0
    let keptRecent = 0
    for (const name of names) {
      if (!isBlobName(name)) {
        // orphaned sidecar whose blob is gone
        if (name.endsWith(SIDE) && !names.includes(name.slice(0, -SIDE.length))) {
          await fs.rm(path.join(this.blobDir, name), { force: true })
        }
        continue
      }
      scanned++
      const digest = `sha256:${name}`
      const file = path.join(this.blobDir, name)
      const st = await fs.lstat(file).catch(() => undefined)
      if (st === undefined) continue
      if (pinned.has(digest)) {
        keptPinned++
        continue
      }
      const used = await this.lastUsed(name, st.mtimeMs)
      if (used > cutoff) {
        keptRecent++
        continue
      }
      // Decide and mark synchronously: a pull reserving this digest after this
      // point waits for the deletion to finish and then refetches.
      if (this.isReserved(digest)) {
        keptReserved++
        continue
      }
      const removal = (async () => {
        await fs.rm(file, { force: true })
        await fs.rm(`${file}${SIDE}`, { force: true })
      })()
      this.deleting.set(digest, removal)
      try {
        await removal
      } finally {
        this.deleting.delete(digest)
      }
      deleted++
      deletedBytes += st.size
    }
    // stale temp files from crashed downloads
    for (const name of await fs.readdir(this.tmpDir).catch(() => [] as Array<string>)) {
      const hex = name.split(".")[0] ?? ""
      const p = path.join(this.tmpDir, name)
      const st = await fs.lstat(p).catch(() => undefined)
      if (st && !this.inflight.has(`sha256:${hex}`) && st.mtimeMs < this.now() - 3600_000) await fs.rm(p, { force: true })
    }
    const finished = new Date(this.now()).toISOString()
    // statistics only (a torn file reads as "no GC yet"), written in place so status sees it as soon as the blobs are gone
    await fs.writeFile(this.stateFile, JSON.stringify({ lastGcAt: finished, lastGcDeletedBytes: deletedBytes }), {
      mode: 0o600
    })
    return { startedAt, scanned, deleted, deletedBytes, keptPinned, keptReserved, keptRecent }
  }
}
