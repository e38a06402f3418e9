/**
 * Chain snapshots (src/oci/chains.ts, ADR 0805): a second image sharing the lower layers of one pulled
 * before neither downloads nor unpacks them again, gets the same tree as a full unpack, and cannot
 * change the first image's bundle through the hard links it shares.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { anonymous, type PullProgress } from "../../../src/oci/index.js"
import { buildAndPush, type BuiltTag, type ImageSpec, multiLayerImage } from "../../support/ociImages.js"
import { type RunningRegistry, startRegistry } from "../../support/registry.js"
import { isRoot, listTree, type OciHarness, startOci } from "./helpers.js"

/** The multi-layer image with another top layer: deletes, replaces and adds over the same two layers. */
const sibling = (): ImageSpec => {
  const base = multiLayerImage()
  return {
    ...base,
    layers: [
      ...base.layers.slice(0, 2),
      {
        compression: "gzip",
        entries: [
          { kind: "whiteout", path: "data/keep.txt" },
          { kind: "file", path: "data/a.txt", content: "a-v2", mode: 0o600, uid: 1000, gid: 1000 },
          { kind: "file", path: "etc/motd", content: "sibling" },
          { kind: "dir", path: "data", mode: 0o711, uid: 1000, gid: 1000 }
        ]
      }
    ]
  }
}

describe("OciService chain snapshots", () => {
  let registry: RunningRegistry
  let multi: BuiltTag
  let other: BuiltTag
  let h: OciHarness

  beforeAll(async () => {
    registry = await startRegistry()
    multi = await buildAndPush(multiLayerImage(), registry.host, "test/multi", "v1")
    other = await buildAndPush(sibling(), registry.host, "test/sibling", "v1")
    h = await startOci({ insecureRegistries: [registry.host], chainSnapshotMinBytes: 0 })
  })
  afterAll(async () => {
    await h?.close()
    await registry?.stop()
  })

  it("reuses the unpacked lower layers of an earlier image and keeps both trees right", async () => {
    const shared = multi.images[0]?.layers.slice(0, 2).map((l) => l.digest)
    expect(other.images[0]?.layers.slice(0, 2).map((l) => l.digest)).toEqual(shared)

    const first = await Effect.runPromise(h.oci.pull(`${registry.host}/test/multi:v1`, anonymous))
    // the sibling's shared blobs are not in the cache: a download of them would have to fetch them
    for (const d of shared ?? []) await fs.rm(path.join(h.dataDir, "oci-cache/blobs/sha256", d.slice(7)))

    const progress: Array<PullProgress> = []
    const second = await Effect.runPromise(h.oci.pull(`${registry.host}/test/sibling:v1`, anonymous, (p) => progress.push(p)))
    expect(second.reused).toBe(false)
    expect(progress.some((p) => p.layersReused === 2)).toBe(true)
    expect(progress.at(-1)?.bytesDone).toBe(progress.at(-1)?.bytesTotal)
    for (const d of shared ?? []) {
      await expect(fs.stat(path.join(h.dataDir, "oci-cache/blobs/sha256", d.slice(7)))).rejects.toThrow(/ENOENT/)
    }

    const r = second.rootfs
    await expect(fs.lstat(path.join(r, "data/keep.txt"))).rejects.toThrow(/ENOENT/)
    expect(await fs.readFile(path.join(r, "data/a.txt"), "utf8")).toBe("a-v2")
    expect((await fs.stat(path.join(r, "data/a.txt"))).mode & 0o7777).toBe(0o600)
    expect(await fs.readFile(path.join(r, "data/a-hardlink"), "utf8")).toBe("a-v1")
    expect(await fs.readFile(path.join(r, "data/gone.txt"), "utf8")).toBe("gone")
    expect(await fs.readFile(path.join(r, "etc/motd"), "utf8")).toBe("sibling")
    expect((await fs.readdir(path.join(r, "opt/app"))).sort()).toEqual(["old-sub", "old.txt"])
    expect(await fs.readlink(path.join(r, "data/rel-link"))).toBe("a.txt")
    expect(await fs.readlink(path.join(r, "bin/sh"))).toBe("busybox")
    expect((await fs.stat(path.join(r, "data"))).mode & 0o7777).toBe(0o711)
    expect((await fs.stat(path.join(r, "tmp"))).mode & 0o7777).toBe(0o1777)
    expect((await fs.stat(path.join(r, "home/app"))).mode & 0o7777).toBe(0o750)
    expect((await fs.stat(path.join(r, "bin/busybox"))).size).toBe((await fs.stat("/bin/busybox")).size)
    if (isRoot) {
      expect((await fs.stat(path.join(r, "data/a-hardlink"))).uid).toBe(101000)
      expect((await fs.stat(path.join(r, "home/app"))).uid).toBe(101000)
      expect((await fs.lstat(path.join(r, "bin/sh"))).uid).toBe(100000)
    }
    expect((await listTree(r)).filter((p) => p.includes(".wh."))).toEqual([])

    // the first bundle is untouched by what the second image's top layer replaced or deleted
    const f = first.rootfs
    expect(await fs.readFile(path.join(f, "data/keep.txt"), "utf8")).toBe("keep")
    expect(await fs.readFile(path.join(f, "data/a.txt"), "utf8")).toBe("a-v1")
    expect((await fs.stat(path.join(f, "data/a.txt"))).mode & 0o7777).toBe(0o640)
    expect(await fs.readFile(path.join(f, "etc/motd"), "utf8")).toBe("layer3")
    expect((await fs.stat(path.join(f, "data"))).mode & 0o7777).toBe(0o755)
    expect((await fs.readdir(path.join(f, "opt/app"))).sort()).toEqual(["new.txt"])
  })

  it("removes unused snapshots at GC unless their layers are pinned", async () => {
    const chainsDir = path.join(h.dataDir, "oci-cache", "chains")
    const before = (await fs.readdir(chainsDir)).filter((n) => /^[0-9a-f]{64}$/.test(n))
    expect(before.length).toBe(1)
    const old = new Date(Date.now() - 30 * 24 * 3600 * 1000)
    await fs.utimes(path.join(chainsDir, before[0] ?? "", "state.json"), old, old)
    h.pinned = [multi.images[0]?.manifest.digest ?? ""]
    await Effect.runPromise(h.oci.gc)
    expect(await fs.readdir(chainsDir)).toEqual(before)
    h.pinned = []
    await Effect.runPromise(h.oci.gc)
    expect(await fs.readdir(chainsDir)).toEqual([])
  })
})
