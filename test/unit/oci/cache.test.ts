import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { LayerCache } from "../../../src/oci/cache.js"

const blob = (text: string) => {
  const data = Buffer.from(text)
  return { data, digest: `sha256:${createHash("sha256").update(data).digest("hex")}`, size: data.length }
}

describe("LayerCache", () => {
  let root: string
  let now: number
  const DAY = 24 * 3600 * 1000
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "denia-cache-"))
    now = Date.parse("2026-01-10T00:00:00Z")
  })
  afterEach(async () => fs.rm(root, { recursive: true, force: true }))

  const make = (verify: "none" | "size" | "full" = "size") => {
    const c = new LayerCache(root, verify, () => now)
    return c
  }
  const put = async (c: LayerCache, b: ReturnType<typeof blob>) => {
    let fetches = 0
    const entry = await c.ensure(b.digest, b.size, async (tmp) => {
      fetches++
      await fs.writeFile(tmp, b.data)
    })
    return { entry, fetches }
  }

  it("stores blobs atomically with mode 0600 and a last-used sidecar; hits skip the fetch", async () => {
    const c = make()
    await c.init()
    const b = blob("hello")
    const first = await put(c, b)
    expect(first.entry.hit).toBe(false)
    expect(first.fetches).toBe(1)
    const st = await fs.stat(c.blobPath(b.digest))
    expect(st.mode & 0o777).toBe(0o600)
    expect(await fs.readFile(`${c.blobPath(b.digest)}.last-used`, "utf8")).toBe(String(now))
    const second = await put(c, b)
    expect(second.entry.hit).toBe(true)
    expect(second.fetches).toBe(0)
    expect(await fs.readdir(c.tmpDir)).toEqual([])
  })

  it("single-flights concurrent fetches of one digest", async () => {
    const c = make()
    await c.init()
    const b = blob("shared")
    let fetches = 0
    const fetch = async (tmp: string) => {
      fetches++
      await new Promise((r) => setTimeout(r, 30))
      await fs.writeFile(tmp, b.data)
    }
    const results = await Promise.all([
      c.ensure(b.digest, b.size, fetch),
      c.ensure(b.digest, b.size, fetch),
      c.ensure(b.digest, b.size, fetch)
    ])
    expect(fetches).toBe(1)
    expect(new Set(results.map((r) => r.path)).size).toBe(1)
  })

  it("verify-on-hit: size catches truncation, full catches same-size corruption, none trusts the file", async () => {
    await make().init()
    const b = blob("0123456789")
    await put(make("size"), b)
    await fs.writeFile(make().blobPath(b.digest), "short")
    expect((await put(make("size"), b)).fetches).toBe(1)
    await fs.writeFile(make().blobPath(b.digest), "9876543210")
    expect((await put(make("size"), b)).fetches).toBe(0)
    expect((await put(make("full"), b)).fetches).toBe(1)
    expect(await fs.readFile(make().blobPath(b.digest), "utf8")).toBe("0123456789")
    await fs.writeFile(make().blobPath(b.digest), "x")
    expect((await put(make("none"), b)).fetches).toBe(0)
  })

  it("a failed fetch leaves nothing behind", async () => {
    const c = make()
    await c.init()
    const b = blob("boom")
    await expect(
      c.ensure(b.digest, b.size, async (tmp) => {
        await fs.writeFile(tmp, "partial")
        throw new Error("network down")
      })
    ).rejects.toThrow("network down")
    expect(await fs.readdir(c.blobDir)).toEqual([])
    expect(await fs.readdir(c.tmpDir)).toEqual([])
  })

  it("GC removes old blobs and keeps recent, pinned and reserved ones; status reports it", async () => {
    const c = make()
    await c.init()
    const old = blob("old")
    const pinned = blob("pinned")
    const reserved = blob("reserved")
    const recent = blob("recent")
    for (const b of [old, pinned, reserved]) await put(c, b)
    now += 10 * DAY
    await put(c, recent)
    const before = await c.status()
    expect(before.entries).toBe(4)
    expect(before.totalBytes).toBe(3 + 6 + 8 + 6)
    expect(before.oldestEntryAgeSeconds).toBe(10 * 24 * 3600)
    expect(before.lastGcAt).toBeNull()
    const release = c.reserve(reserved.digest)
    const report = await c.gc(7 * DAY, new Set([pinned.digest]))
    expect(report).toMatchObject({ scanned: 4, deleted: 1, deletedBytes: 3, keptPinned: 1, keptReserved: 1, keptRecent: 1 })
    await expect(fs.stat(c.blobPath(old.digest))).rejects.toThrow(/ENOENT/)
    await expect(fs.stat(`${c.blobPath(old.digest)}.last-used`)).rejects.toThrow(/ENOENT/)
    for (const b of [pinned, reserved, recent]) expect((await fs.stat(c.blobPath(b.digest))).isFile()).toBe(true)
    const after = await c.status()
    expect(after.entries).toBe(3)
    expect(after.lastGcAt).toBe(new Date(now).toISOString())
    expect(after.lastGcDeletedBytes).toBe(3)
    // once released, the reserved blob is collectable
    release()
    release()
    const second = await c.gc(7 * DAY, new Set([pinned.digest]))
    expect(second.deleted).toBe(1)
    expect(c.isReserved(reserved.digest)).toBe(false)
  })

  it("a hit refreshes last-used so GC keeps blobs in use", async () => {
    const c = make()
    await c.init()
    const b = blob("used")
    await put(c, b)
    now += 10 * DAY
    await put(c, b)
    expect((await c.gc(7 * DAY, new Set())).deleted).toBe(0)
  })
})
