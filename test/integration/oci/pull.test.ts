import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { anonymous, type PullProgress } from "../../../src/oci/index.js"
import { buildAndPush, type BuiltTag, busyboxImage, multiLayerImage, twoPlatformIndex } from "../../support/ociImages.js"
import { type RunningRegistry, startRegistry } from "../../support/registry.js"
import { failureOf, isRoot, listTree, type OciHarness, startOci } from "./helpers.js"

const hostArch = process.arch === "x64" ? "amd64" : process.arch

describe("OciService against docker-registry", () => {
  let registry: RunningRegistry
  let h: OciHarness
  let multi: BuiltTag
  let index: BuiltTag
  let busybox: BuiltTag

  beforeAll(async () => {
    registry = await startRegistry()
    multi = await buildAndPush(multiLayerImage(), registry.host, "test/multi", "v1")
    index = await buildAndPush(twoPlatformIndex(), registry.host, "test/multiarch", "v1")
    busybox = await buildAndPush(busyboxImage(), registry.host, "test/busybox", "latest")
    h = await startOci({ insecureRegistries: [registry.host] })
  })
  afterAll(async () => {
    await h?.close()
    await registry?.stop()
  })

  it("pulls by tag into a content-addressed bundle with whiteouts, opaque dirs and links applied", async () => {
    const progress: Array<PullProgress> = []
    const img = await Effect.runPromise(h.oci.pull(`${registry.host}/test/multi:v1`, anonymous, (p) => progress.push(p)))
    const manifestDigest = multi.images[0]?.manifest.digest
    expect(img.digest).toBe(manifestDigest)
    expect(img.bundleDir).toBe(path.join(h.dataDir, "artifacts", img.digest.slice(7)))
    expect(img.reused).toBe(false)
    const r = img.rootfs
    expect(await fs.readFile(path.join(r, "data/keep.txt"), "utf8")).toBe("keep")
    expect(await fs.readFile(path.join(r, "etc/motd"), "utf8")).toBe("layer3")
    await expect(fs.lstat(path.join(r, "data/gone.txt"))).rejects.toThrow(/ENOENT/)
    await expect(fs.lstat(path.join(r, "data/gone-dir"))).rejects.toThrow(/ENOENT/)
    expect((await fs.readdir(path.join(r, "opt/app"))).sort()).toEqual(["new.txt"])
    const a = await fs.lstat(path.join(r, "data/a.txt"))
    const link = await fs.lstat(path.join(r, "data/a-hardlink"))
    expect(link.ino).toBe(a.ino)
    expect(a.nlink).toBe(2)
    expect(await fs.readlink(path.join(r, "data/rel-link"))).toBe("a.txt")
    expect(await fs.readlink(path.join(r, "data/abs-link"))).toBe("/data/a.txt")
    expect(await fs.readlink(path.join(r, "bin/sh"))).toBe("busybox")
    expect(a.mode & 0o7777).toBe(0o640)
    expect((await fs.stat(path.join(r, "tmp"))).mode & 0o7777).toBe(0o1777)
    expect((await fs.stat(path.join(r, "home/app"))).mode & 0o7777).toBe(0o750)
    expect((await fs.stat(path.join(r, "bin/busybox"))).mode & 0o777).toBe(0o755)
    // no whiteout markers survive
    expect((await listTree(r)).filter((p) => p.includes(".wh."))).toEqual([])
    if (isRoot) {
      expect(a.uid).toBe(101000)
      expect(a.gid).toBe(101000)
      expect((await fs.stat(path.join(r, "home/app"))).uid).toBe(101000)
      expect((await fs.stat(r)).uid).toBe(100000)
      expect((await fs.lstat(path.join(r, "bin/sh"))).uid).toBe(100000)
    }
    // process manifest
    const pm = img.manifest
    expect(pm.args).toEqual(["/bin/sh", "-c", "echo hello"])
    expect(pm.env).toEqual(["PATH=/bin", "GREETING=hi"])
    expect(pm.workingDir).toBe("/home/app")
    expect(pm.user).toEqual({ spec: "app", uid: 1000, gid: 1000, additionalGids: [10, 50] })
    expect(pm.exposedPorts).toEqual([
      { port: 8080, protocol: "tcp" },
      { port: 5353, protocol: "udp" }
    ])
    expect(pm.labels).toEqual({ "org.denia.test": "multi" })
    expect(pm.layers).toEqual(multi.images[0]?.layers.map((l) => l.digest))
    const stored = JSON.parse(await fs.readFile(path.join(img.bundleDir, "manifest.json"), "utf8")) as { manifestDigest: string }
    expect(stored.manifestDigest).toBe(img.digest)
    // progress
    const last = progress[progress.length - 1]
    expect(last?.phase).toBe("done")
    expect(last?.layersTotal).toBe(3)
    expect(last?.layersDone).toBe(3)
    expect(last?.bytesDone).toBe(last?.bytesTotal)
    expect(progress.some((p) => p.phase === "unpacking")).toBe(true)
    // layers are in the cache, 0600
    for (const l of multi.images[0]?.layers ?? []) {
      const st = await fs.stat(path.join(h.dataDir, "oci-cache/blobs/sha256", l.digest.slice(7)))
      expect(st.mode & 0o777).toBe(0o600)
      expect(st.size).toBe(l.size)
    }
    // no temp leftovers
    expect((await fs.readdir(path.join(h.dataDir, "artifacts"))).filter((n) => n.startsWith("."))).toEqual([])
  })

  it("pulls by digest and reuses an existing bundle", async () => {
    const digest = multi.images[0]?.manifest.digest ?? ""
    const img = await Effect.runPromise(h.oci.pull(`${registry.host}/test/multi@${digest}`, anonymous))
    expect(img.digest).toBe(digest)
    expect(img.reused).toBe(true)
    const found = await Effect.runPromise(h.oci.lookup(digest))
    expect(found._tag).toBe("Some")
  })

  it("resolves an index to the host platform", async () => {
    const img = await Effect.runPromise(h.oci.pull(`${registry.host}/test/multiarch:v1`, anonymous))
    const mine = index.images.find((i) => i.platform.startsWith(`linux/${hostArch}`))
    expect(img.digest).toBe(mine?.manifest.digest)
    expect(await fs.readFile(path.join(img.rootfs, "platform"), "utf8")).toBe(hostArch)
    expect(img.manifest.platform.startsWith(`linux/${hostArch}`)).toBe(true)
    const resolved = await Effect.runPromise(h.oci.resolve(`${registry.host}/test/multiarch:v1`, anonymous))
    expect(resolved.indexDigest).toBe(index.digest)
    // by index digest (tag ignored when a digest is given)
    const byDigest = await Effect.runPromise(h.oci.pull(`${registry.host}/test/multiarch:ignored@${index.digest}`, anonymous))
    expect(byDigest.digest).toBe(mine?.manifest.digest)
    expect(byDigest.reused).toBe(true)
  })

  it("selects another platform when configured, and fails clearly when none matches", async () => {
    const other = await startOci({
      insecureRegistries: [registry.host],
      platform: { os: "linux", architecture: hostArch === "arm64" ? "amd64" : "arm64" }
    })
    try {
      const img = await Effect.runPromise(other.oci.pull(`${registry.host}/test/multiarch:v1`, anonymous))
      expect(await fs.readFile(path.join(img.rootfs, "platform"), "utf8")).toBe(hostArch === "arm64" ? "amd64" : "arm64")
    } finally {
      await other.close()
    }
    const none = await startOci({ insecureRegistries: [registry.host], platform: { os: "linux", architecture: "s390x" } })
    try {
      const err = await failureOf(none.oci.pull(`${registry.host}/test/multiarch:v1`, anonymous))
      expect(err._tag).toBe("denia/oci/NoMatchingPlatform")
    } finally {
      await none.close()
    }
  })

  it("single-flights concurrent pulls of one image", async () => {
    const fresh = await startOci({ insecureRegistries: [registry.host] })
    try {
      const ref = `${registry.host}/test/busybox:latest`
      const [a, b] = await Effect.runPromise(
        Effect.all([fresh.oci.pull(ref, anonymous), fresh.oci.pull(ref, anonymous)], { concurrency: 2 })
      )
      expect(a.digest).toBe(busybox.digest)
      expect(b.bundleDir).toBe(a.bundleDir)
      expect((await fs.stat(path.join(a.rootfs, "bin/busybox"))).size).toBe((await fs.stat("/bin/busybox")).size)
      const status = await Effect.runPromise(fresh.oci.cacheStatus)
      expect(status.entries).toBe(2) // config + one layer
    } finally {
      await fresh.close()
    }
  })

  it("reports missing tags and repositories as ImageNotFound", async () => {
    const err = await failureOf(h.oci.pull(`${registry.host}/test/multi:nope`, anonymous))
    expect(err._tag).toBe("denia/oci/ImageNotFound")
  })

  it("refuses the registry when it is not allow-listed (loopback)", async () => {
    const strict = await startOci({ insecureRegistries: [] })
    try {
      const err = await failureOf(strict.oci.pull(`${registry.host}/test/multi:v1`, anonymous))
      expect(err._tag).toBe("denia/oci/SsrfRefused")
    } finally {
      await strict.close()
    }
  })

  it("allows the hosted registry without an insecure entry", async () => {
    const hosted = await startOci({ insecureRegistries: [], hostedRegistry: registry.host })
    try {
      const img = await Effect.runPromise(hosted.oci.pull(`${registry.host}/test/busybox:latest`, anonymous))
      expect(img.digest).toBe(busybox.digest)
    } finally {
      await hosted.close()
    }
  })
})
