/**
 * Layer application in a worker thread (src/oci/unpackWorkerPool.ts, ADR 0808): the worker is what
 * pulls use — from the TypeScript sources here and from the compiled `dist/` the daemon runs — its
 * failures come back as the calling thread's would (typed refusals with their fields, file-system
 * errors with `code`/`syscall`), an interrupted pull terminates its worker, and a fed layer keeps the
 * download waiting while the worker's input is full.
 */
import { Effect, Fiber } from "effect"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { OciFailure } from "../../../src/oci/transport.js"
import { RootfsUnpacker, type UnpackOptions } from "../../../src/oci/unpack.js"
import {
  FEED_WINDOW,
  findWorkerEntry,
  scopedUnpacker,
  type Unpacker,
  UnpackPriority,
  unpackPriority,
  UnpackWorkerPool,
  unpackWorkers,
  UnpackWorkerStopped
} from "../../../src/oci/unpackWorkerPool.js"
import { type LayerSpec, writeLayer } from "../../support/ociImages.js"

const distPool = new URL("../../../dist/oci/unpackWorkerPool.js", import.meta.url)
const open: UnpackOptions = { maxBytes: 1 << 30, maxEntries: 100_000, idShift: undefined }

describe("unpack worker", () => {
  let work: string
  const pools: Array<UnpackWorkerPool> = []
  const pool = (entry = findWorkerEntry(new URL("../../../src/oci/unpackWorkerPool.ts", import.meta.url).href)) => {
    const p = new UnpackWorkerPool(entry)
    pools.push(p)
    return p
  }
  beforeEach(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), "denia-unpackworker-"))
    await fs.mkdir(path.join(work, "blobs", "sha256"), { recursive: true })
  })
  afterEach(async () => fs.rm(work, { recursive: true, force: true }))
  afterAll(async () => {
    for (const p of pools) await p.close()
  })

  const blob = async (spec: LayerSpec) => path.join(work, "blobs", "sha256", (await writeLayer(work, spec)).digest.slice(7))
  const rootfs = async (name: string) => {
    const dir = path.join(work, name)
    await fs.mkdir(dir)
    return dir
  }
  const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e)

  it("is a worker thread from the sources (vitest) and from the compiled dist/ the daemon runs", async () => {
    expect(unpackWorkers().mode).toBe("worker")
    expect(findWorkerEntry(new URL("../../../src/oci/unpackWorkerPool.ts", import.meta.url).href)?.kind).toBe("source")
    // dist/ is built before the tests (npm test runs the build first)
    await expect(fs.stat(fileURLToPath(distPool)), "dist/ missing: run npm run build").resolves.toBeDefined()
    const compiled = findWorkerEntry(distPool.href)
    expect(compiled?.kind).toBe("compiled")

    // the compiled worker applies a layer for this (source) daemon side: same protocol, same result
    const p = pool(compiled)
    const dir = await rootfs("compiled")
    const u = p.acquire(dir, open)
    expect(u.mode).toBe("worker")
    await u.applyLayerFile(
      "1/1",
      await blob({ entries: [{ kind: "dir", path: "etc" }, { kind: "file", path: "etc/hostname", content: "w" }] })
    )
    await u.finish()
    expect(await fs.readFile(path.join(dir, "etc", "hostname"), "utf8")).toBe("w")
    expect(u.state().entries).toBe(2)
    await u.release(true)
    expect(p.started).toBe(1)
    expect(p.idleCount).toBe(1)

    // the idle worker serves the next pull
    const again = p.acquire(await rootfs("again"), open)
    await again.finish()
    await again.release(true)
    expect(p.started).toBe(1)
  })

  /** Applies `spec` in a worker and on this thread; both failures. */
  const bothWays = async (spec: LayerSpec, options: UnpackOptions = open) => {
    const file = await blob(spec)
    const u = pool().acquire(await rootfs(`w-${Math.random()}`), options)
    const inWorker = await failure(u.applyLayerFile("1/1 L", file))
    await u.release(false)
    const inThread = await failure(new RootfsUnpacker(await rootfs(`t-${Math.random()}`), options).applyLayerFile("1/1 L", file))
    return { inWorker, inThread }
  }

  it("returns a refused layer as OciFailure with the same HostileLayer fields", async () => {
    const { inThread, inWorker } = await bothWays({
      entries: [{ kind: "raw", header: { name: "../../escape.txt", type: "file", size: 1 }, content: Buffer.from("x") }]
    })
    expect(inWorker).toBeInstanceOf(OciFailure)
    if (!(inWorker instanceof OciFailure) || !(inThread instanceof OciFailure)) throw new Error("not an OciFailure")
    expect(inWorker.error._tag).toBe("denia/oci/HostileLayer")
    expect(inWorker.error).toEqual(inThread.error)
    if (inWorker.error._tag === "denia/oci/HostileLayer") {
      expect(inWorker.error.entry).toBe("../../escape.txt")
      expect(inWorker.error.layer).toBe("1/1 L")
      expect(inWorker.error.reason).toBe("path contains '..'")
    }
  })

  it("returns IdOutOfRange and UnpackLimitExceeded with their fields", async () => {
    const ids = await bothWays(
      { entries: [{ kind: "file", path: "f", content: "x", uid: 70_000, gid: 0 }] },
      { ...open, idShift: { base: 100_000, size: 65_536 } }
    )
    if (!(ids.inWorker instanceof OciFailure) || !(ids.inThread instanceof OciFailure)) throw new Error("not an OciFailure")
    expect(ids.inWorker.error._tag).toBe("denia/oci/IdOutOfRange")
    expect(ids.inWorker.error).toEqual(ids.inThread.error)
    if (ids.inWorker.error._tag === "denia/oci/IdOutOfRange") {
      expect(ids.inWorker.error.id).toBe(70_000)
      expect(ids.inWorker.error.limit).toBe(65_536)
      expect(ids.inWorker.error.subject).toBe("uid of f in layer 1/1 L")
    }

    const limit = await bothWays(
      { entries: [{ kind: "file", path: "a", content: "a" }, { kind: "file", path: "b", content: "b" }] },
      { ...open, maxEntries: 1 }
    )
    if (!(limit.inWorker instanceof OciFailure) || !(limit.inThread instanceof OciFailure)) throw new Error("not an OciFailure")
    expect(limit.inWorker.error._tag).toBe("denia/oci/UnpackLimitExceeded")
    expect(limit.inWorker.error).toEqual(limit.inThread.error)
    if (limit.inWorker.error._tag === "denia/oci/UnpackLimitExceeded") {
      expect(limit.inWorker.error.entry).toBe("b")
      expect(limit.inWorker.error.limit).toBe("more than 1 entries")
    }
  })

  it("returns a file-system failure with its code, syscall and path (not as a refusal)", async () => {
    const missing = path.join(work, "no-such-blob")
    const u = pool().acquire(await rootfs("fs"), open)
    const inWorker = await failure(u.applyLayerFile("1/1", missing))
    await u.release(false)
    const inThread = await failure(new RootfsUnpacker(await rootfs("fs-thread"), open).applyLayerFile("1/1", missing))
    expect(inWorker).toBeInstanceOf(Error)
    expect(inWorker).not.toBeInstanceOf(OciFailure)
    if (!(inWorker instanceof Error) || !(inThread instanceof Error)) throw new Error("not an Error")
    expect(inWorker).toMatchObject({ code: "ENOENT", syscall: "open", path: missing })
    expect("syscall" in inWorker).toBe(true)
    expect(String(inWorker)).toBe(String(inThread))
  })

  it("terminates the worker of an interrupted pull; nothing is written after", async () => {
    const p = pool()
    const dir = await rootfs("interrupted")
    const entries = Array.from({ length: 40_000 }, (_, i) => ({ kind: "file" as const, path: `f${i}`, content: `${i}` }))
    const file = await blob({ entries, compression: "none" })
    let applying: Promise<void> | undefined
    const pull = Effect.scoped(
      Effect.gen(function*() {
        const u: Unpacker = yield* scopedUnpacker(dir, open, p)
        applying = u.applyLayerFile("1/1", file)
        applying.catch(() => undefined)
        yield* Effect.promise(() => applying ?? Promise.resolve())
      })
    )
    const fiber = Effect.runFork(pull)
    // bounded wait until the worker has written part of the layer
    for (let i = 0; i < 1000 && (await fs.readdir(dir)).length < 100; i++) await new Promise((r) => setTimeout(r, 5))
    const before = (await fs.readdir(dir)).length
    expect(before).toBeGreaterThanOrEqual(100)
    expect(before).toBeLessThan(40_000)
    await Effect.runPromise(Fiber.interrupt(fiber))
    // the scope's release awaited the worker's termination
    expect(p.running).toBe(0)
    expect(p.idleCount).toBe(0)
    expect(await failure(applying ?? Promise.resolve())).toBeInstanceOf(UnpackWorkerStopped)
    const after = (await fs.readdir(dir)).length
    await new Promise((r) => setTimeout(r, 100))
    expect((await fs.readdir(dir)).length).toBe(after)
    expect(after).toBeLessThan(40_000)
  })

  it("applies a fed layer whole, in order, from chunks, one write at a time in the worker", async () => {
    const big = randomBytes(8 * 1024 * 1024)
    const file = await blob({
      entries: [{ kind: "file", path: "first.txt", content: "first" }, { kind: "file", path: "big.bin", content: big }],
      compression: "gzip"
    })
    const bytes = await fs.readFile(file)
    const dir = await rootfs("fed")
    const u = pool().acquire(dir, open)
    // the worker's warnings reach this process's stderr
    const stderr: Array<string> = []
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk))
      return true
    })
    let most = 0
    try {
      const feed = u.openLayerFeed("1/1")
      for (let off = 0; off < bytes.length; off += 64 * 1024) {
        await feed.write(bytes.subarray(off, off + 64 * 1024))
        most = Math.max(most, feed.queued())
      }
      await feed.end()
      await u.finish()
    } finally {
      spy.mockRestore()
    }
    await u.release(true)
    expect(most).toBeLessThanOrEqual(FEED_WINDOW)
    // chunks waiting for room are queued, not each waiting on the input's "drain"
    expect(stderr.join("")).not.toContain("MaxListenersExceededWarning")
    expect(await fs.readFile(path.join(dir, "first.txt"), "utf8")).toBe("first")
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex")
    expect(sha(await fs.readFile(path.join(dir, "big.bin")))).toBe(sha(big))
  })

  it("keeps a fed layer's writer waiting while the worker has not taken the bytes in (backpressure)", async () => {
    // a stand-in worker that takes chunks in only when told: "finish" answers without taking any,
    // "adopt" first takes in everything received so far
    const stub = `
      import { parentPort } from "node:worker_threads"
      const state = { bytes: 0, entries: 0, dirs: [] }
      let received = 0
      parentPort.on("message", (m) => {
        if (m.op === "chunk") received += m.data.byteLength
        else if (m.op === "adopt") {
          parentPort.postMessage({ type: "ack", bytes: received })
          received = 0
          parentPort.postMessage({ type: "done", id: m.id, skipped: [], state })
        } else if (m.id !== undefined) parentPort.postMessage({ type: "done", id: m.id, skipped: [], state })
      })`
    const p = pool({ kind: "compiled", url: new URL(`data:text/javascript,${encodeURIComponent(stub)}`) })
    const u = p.acquire(await rootfs("stub"), open)
    const feed = u.openLayerFeed("1/1")
    const chunk = Buffer.alloc(256 * 1024, 1)
    // up to the window, writes go straight through
    for (let sent = 0; sent + chunk.length <= FEED_WINDOW; sent += chunk.length) await feed.write(chunk)
    let resolved = false
    const over = feed.write(chunk).then(() => void (resolved = true))
    // a round trip through the worker: the chunk above has arrived there, and nothing was taken in
    await u.finish()
    expect(resolved).toBe(false)
    expect(feed.queued()).toBe(FEED_WINDOW + chunk.length)
    // the worker takes the bytes in: the writer goes on
    await u.adopt({ bytes: 0, entries: 0, dirs: [] })
    await over
    expect(resolved).toBe(true)
    expect(feed.queued()).toBe(0)
    await u.release(false)
    expect(p.running).toBe(0)
  })

  it("runs the worker thread at the fiber's unpack priority and hands it back at the daemon's", async () => {
    /** Nice values of this process's threads (Linux: per thread). */
    const threadNices = async () => {
      const out: Array<number> = []
      for (const t of await fs.readdir("/proc/self/task")) {
        const stat = await fs.readFile(`/proc/self/task/${t}/stat`, "utf8").catch(() => "")
        const nice = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]
        if (nice !== undefined) out.push(Number(nice))
      }
      return out
    }
    const p = pool()
    const priority = new UnpackPriority(19)
    const dir = await rootfs("niced")
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const u = yield* scopedUnpacker(dir, open, p)
          yield* Effect.promise(() => u.finish())
          expect(yield* Effect.promise(threadNices)).toContain(19)
          expect(os.getPriority(0)).toBe(0)
          priority.set(0)
          yield* Effect.promise(() => u.finish())
          expect(yield* Effect.promise(threadNices)).not.toContain(19)
          priority.set(19)
          yield* Effect.promise(() => u.finish())
          expect(yield* Effect.promise(threadNices)).toContain(19)
        })
      ).pipe(Effect.locally(unpackPriority, priority))
    )
    // released cleanly while still at 19: back at 0 before it waits for the next pull
    expect(p.idleCount).toBe(1)
    expect(await threadNices()).not.toContain(19)
  })

  it("a fed layer's refusal stops the feed and wins over the aborted download", async () => {
    const file = await blob({
      entries: [
        { kind: "file", path: "ok.txt", content: "ok" },
        { kind: "raw", header: { name: "/abs.txt", type: "file", size: 1 }, content: Buffer.from("x") },
        { kind: "file", path: "pad.bin", content: Buffer.alloc(4 * 1024 * 1024, 1) }
      ],
      compression: "none"
    })
    const bytes = await fs.readFile(file)
    const u = pool().acquire(await rootfs("refused"), open)
    const feed = u.openLayerFeed("1/1")
    let writeError: unknown
    for (let off = 0; off < bytes.length && writeError === undefined; off += 16 * 1024) {
      writeError = await failure(feed.write(bytes.subarray(off, off + 16 * 1024)))
    }
    const before = await feed.abort()
    await u.release(false)
    expect(writeError).toBeInstanceOf(OciFailure)
    expect(before?.error).toBeInstanceOf(OciFailure)
    if (before?.error instanceof OciFailure) {
      expect(before.error.error._tag).toBe("denia/oci/HostileLayer")
      if (before.error.error._tag === "denia/oci/HostileLayer") expect(before.error.error.entry).toBe("/abs.txt")
    }
  })
})
