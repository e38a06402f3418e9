/**
 * The layer-cache GC keeps exactly what the PinnedImages port answers, read
 * afresh at every run (no setter: the port is the only source).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { makeOciService, PinnedImages } from "../../../src/oci/index.js"

const DAY = 24 * 3600 * 1000

/** Writes a blob into the cache layout, last used `ageDays` ago. */
const seedBlob = (dataDir: string, text: string, ageDays: number) =>
  Effect.promise(async () => {
    const hex = createHash("sha256").update(text).digest("hex")
    const dir = path.join(dataDir, "oci-cache", "blobs", "sha256")
    await fs.mkdir(dir, { recursive: true })
    await fs.writeFile(path.join(dir, hex), text)
    await fs.writeFile(path.join(dir, `${hex}.last-used`), String(Date.now() - ageDays * DAY))
    return `sha256:${hex}`
  })

const cached = (dataDir: string) =>
  Effect.promise(async () =>
    (await fs.readdir(path.join(dataDir, "oci-cache", "blobs", "sha256")))
      .filter((n) => /^[a-f0-9]{64}$/.test(n))
      .map((n) => `sha256:${n}`)
      .sort()
  )

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "denia-pinned-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

describe("oci cache GC and the PinnedImages port", () => {
  it.scoped("keeps the old blobs the port returns, deletes the others, and asks the port at every run", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir
      const pinned = yield* Ref.make<ReadonlyArray<string>>([])
      const oci = yield* makeOciService({
        dataDir,
        usernsBase: 100000,
        usernsSize: 65536,
        insecureRegistries: [],
        cacheVerifyOnHit: "size",
        cacheRetentionDays: 7,
        cacheGcIntervalHours: 0,
        maxUnpackedMb: 64,
        shiftOwnership: false
      }).pipe(Effect.provideService(PinnedImages, { digests: Ref.get(pinned) }))
      const keep = yield* seedBlob(dataDir, "pinned layer", 30)
      const old = yield* seedBlob(dataDir, "unpinned layer", 30)
      const recent = yield* seedBlob(dataDir, "recent layer", 1)
      yield* Ref.set(pinned, [keep, "not-a-digest"])

      const first = yield* oci.gc
      expect(first).toMatchObject({ scanned: 3, deleted: 1, keptPinned: 1, keptRecent: 1 })
      expect(yield* cached(dataDir)).toEqual([keep, recent].sort())
      expect(yield* cached(dataDir)).not.toContain(old)

      // the port now answers nothing: the formerly pinned blob goes at the next run
      yield* Ref.set(pinned, [])
      const second = yield* oci.gc
      expect(second).toMatchObject({ deleted: 1, keptPinned: 0, keptRecent: 1 })
      expect(yield* cached(dataDir)).toEqual([recent])
    }))
})
