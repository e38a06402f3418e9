import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { anonymous } from "../../../src/oci/index.js"
import { buildAndPush, busyboxBaseLayer, type ImageSpec, type LayerEntry } from "../../support/ociImages.js"
import { type RunningRegistry, startRegistry } from "../../support/registry.js"
import { failureOf, isRoot, listTree, type OciHarness, startOci } from "./helpers.js"

describe("hostile layers", () => {
  let registry: RunningRegistry
  let h: OciHarness
  let outside: string
  let outsideBefore: Array<string>

  const image = (...layers: Array<ReadonlyArray<LayerEntry>>): ImageSpec => ({
    layers: [busyboxBaseLayer("gzip"), ...layers.map((entries) => ({ entries, compression: "gzip" as const }))],
    config: { Cmd: ["/bin/sh"] }
  })

  const expectNothingLeft = async () => {
    const artifacts = await fs.readdir(path.join(h.dataDir, "artifacts"))
    expect(artifacts).toEqual([])
    expect(await listTree(outside)).toEqual(outsideBefore)
    expect(await fs.readFile(path.join(outside, "sentinel.txt"), "utf8")).toBe("untouched")
    await expect(fs.lstat(path.join(h.dataDir, "escape.txt"))).rejects.toThrow(/ENOENT/)
    await expect(fs.lstat("/abs-denia-test.txt")).rejects.toThrow(/ENOENT/)
  }

  const pullFails = async (tag: string, spec: ImageSpec) => {
    await buildAndPush(spec, registry.host, "hostile/img", tag)
    const err = await failureOf(h.oci.pull(`${registry.host}/hostile/img:${tag}`, anonymous))
    await expectNothingLeft()
    return err
  }

  beforeAll(async () => {
    registry = await startRegistry()
    outside = await fs.mkdtemp(path.join(os.tmpdir(), "denia-outside-"))
    await fs.writeFile(path.join(outside, "sentinel.txt"), "untouched")
    await fs.mkdir(path.join(outside, "sub"))
    outsideBefore = await listTree(outside)
    h = await startOci({ insecureRegistries: [registry.host], maxUnpackedMb: 4, maxEntries: 200 })
  })
  afterAll(async () => {
    await h?.close()
    await registry?.stop()
    await fs.rm(outside, { recursive: true, force: true })
  })

  it("refuses '..' traversal, naming the entry", async () => {
    const err = await pullFails(
      "traversal",
      image([{ kind: "raw", header: { name: "../../escape.txt", type: "file" }, content: Buffer.from("x") }])
    )
    expect(err._tag).toBe("denia/oci/HostileLayer")
    if (err._tag === "denia/oci/HostileLayer") {
      expect(err.entry).toBe("../../escape.txt")
      expect(err.layer).toMatch(/^2\/2 sha256:/)
    }
    const nested = await pullFails(
      "traversal2",
      image([{ kind: "raw", header: { name: "data/../../x", type: "file" }, content: Buffer.from("x") }])
    )
    expect(nested._tag).toBe("denia/oci/HostileLayer")
  })

  it("refuses absolute paths", async () => {
    const err = await pullFails(
      "absolute",
      image([{ kind: "raw", header: { name: "/abs-denia-test.txt", type: "file" }, content: Buffer.from("x") }])
    )
    expect(err._tag).toBe("denia/oci/HostileLayer")
    expect(err.message).toContain("/abs-denia-test.txt")
  })

  it("never writes through a symlink (same layer and across layers)", async () => {
    const same = await pullFails(
      "symlink-write",
      image([
        { kind: "symlink", path: "evil", target: outside },
        { kind: "file", path: "evil/pwned.txt", content: "pwned" }
      ])
    )
    expect(same._tag).toBe("denia/oci/HostileLayer")
    if (same._tag === "denia/oci/HostileLayer") expect(same.reason).toContain("symlink")
    const across = await pullFails(
      "symlink-write2",
      image([{ kind: "symlink", path: "evil", target: outside }], [{ kind: "file", path: "evil/sub/pwned.txt", content: "pwned" }])
    )
    expect(across._tag).toBe("denia/oci/HostileLayer")
    const relative = await pullFails(
      "symlink-write3",
      image([{ kind: "symlink", path: "up", target: "../../../../../../../../.." }, { kind: "dir", path: "up/tmp" }])
    )
    expect(relative._tag).toBe("denia/oci/HostileLayer")
    const whiteoutThrough = await pullFails(
      "symlink-whiteout",
      image([{ kind: "symlink", path: "evil", target: outside }], [{ kind: "whiteout", path: "evil/sentinel.txt" }])
    )
    expect(whiteoutThrough._tag).toBe("denia/oci/HostileLayer")
  })

  it("replaces (does not follow) a symlink overwritten by a regular file", async () => {
    await buildAndPush(
      image([{ kind: "symlink", path: "target", target: path.join(outside, "sentinel.txt") }], [{
        kind: "file",
        path: "target",
        content: "inside"
      }]),
      registry.host,
      "hostile/img",
      "symlink-replace"
    )
    const img = await Effect.runPromise(h.oci.pull(`${registry.host}/hostile/img:symlink-replace`, anonymous))
    expect((await fs.lstat(path.join(img.rootfs, "target"))).isFile()).toBe(true)
    expect(await fs.readFile(path.join(img.rootfs, "target"), "utf8")).toBe("inside")
    expect(await fs.readFile(path.join(outside, "sentinel.txt"), "utf8")).toBe("untouched")
    await fs.rm(img.bundleDir, { recursive: true })
  })

  it("refuses hardlinks to outside the rootfs or through symlinks", async () => {
    const up = await pullFails("hardlink-out", image([{ kind: "hardlink", path: "pw", target: "../../../../etc/passwd" }]))
    expect(up._tag).toBe("denia/oci/HostileLayer")
    const abs = await pullFails("hardlink-abs", image([{ kind: "hardlink", path: "pw", target: "/etc/passwd" }]))
    expect(abs._tag).toBe("denia/oci/HostileLayer")
    const via = await pullFails(
      "hardlink-via-symlink",
      image([
        { kind: "symlink", path: "hostetc", target: "/etc" },
        { kind: "hardlink", path: "pw", target: "hostetc/passwd" }
      ])
    )
    expect(via._tag).toBe("denia/oci/HostileLayer")
  })

  it("skips device nodes and fifos", async () => {
    await buildAndPush(
      image([
        { kind: "dir", path: "dev" },
        { kind: "device", path: "dev/sda", type: "block-device", major: 8, minor: 0 },
        { kind: "device", path: "dev/mem", type: "character-device", major: 1, minor: 1 },
        { kind: "fifo", path: "dev/fifo" },
        { kind: "file", path: "dev/ok.txt", content: "ok" }
      ]),
      registry.host,
      "hostile/img",
      "devices"
    )
    const img = await Effect.runPromise(h.oci.pull(`${registry.host}/hostile/img:devices`, anonymous))
    expect(await fs.readdir(path.join(img.rootfs, "dev"))).toEqual(["ok.txt"])
    await fs.rm(img.bundleDir, { recursive: true })
  })

  it("stops a size bomb at the unpacked-size cap", async () => {
    // 6 MB of zeros compresses to a few KB; the cap is 4 MB
    const err = await pullFails("bomb", image([{ kind: "file", path: "zeros.bin", content: Buffer.alloc(6 * 1024 * 1024) }]))
    expect(err._tag).toBe("denia/oci/UnpackLimitExceeded")
    if (err._tag === "denia/oci/UnpackLimitExceeded") expect(err.entry).toBe("zeros.bin")
  })

  it("stops an entry-count bomb at the entry cap", async () => {
    const many = Array.from({ length: 300 }, (_, i): LayerEntry => ({ kind: "file", path: `many/f${i}`, content: "" }))
    const err = await pullFails("entries", image([{ kind: "dir", path: "many" }, ...many]))
    expect(err._tag).toBe("denia/oci/UnpackLimitExceeded")
  })

  if (!isRoot) console.log("skipping file-ownership range test: needs root (ownership is only shifted as root)")
  it.skipIf(!isRoot)("refuses file ids outside the user-namespace range (root)", async () => {
    const err = await pullFails("bad-uid", image([{ kind: "file", path: "f", content: "x", uid: 70000 }]))
    expect(err._tag).toBe("denia/oci/IdOutOfRange")
  })
})

describe("digest verification", () => {
  let registry: RunningRegistry
  beforeAll(async () => {
    registry = await startRegistry()
  })
  afterAll(async () => registry?.stop())

  it("a corrupted layer blob fails with DigestMismatch naming the digest and nothing is cached", async () => {
    const built = await buildAndPush(
      { layers: [busyboxBaseLayer("gzip"), { entries: [{ kind: "file", path: "x", content: "payload" }] }] },
      registry.host,
      "corrupt/img",
      "v1"
    )
    const layer = built.images[0]?.layers[1]
    if (!layer) throw new Error("no layer")
    const data = await fs.readFile(registry.blobDataPath(layer.digest))
    data[data.length - 5] = (data[data.length - 5] ?? 0) ^ 0xff
    await fs.writeFile(registry.blobDataPath(layer.digest), data)
    const h = await startOci({ insecureRegistries: [registry.host] })
    try {
      const err = await failureOf(h.oci.pull(`${registry.host}/corrupt/img:v1`, anonymous))
      expect(err._tag).toBe("denia/oci/DigestMismatch")
      if (err._tag === "denia/oci/DigestMismatch") expect(err.digest).toBe(layer.digest)
      const cached = await fs.readdir(path.join(h.dataDir, "oci-cache/blobs/sha256"))
      expect(cached.filter((n) => n.startsWith(layer.digest.slice(7)))).toEqual([])
      expect(await fs.readdir(path.join(h.dataDir, "oci-cache/tmp"))).toEqual([])
      expect(await fs.readdir(path.join(h.dataDir, "artifacts"))).toEqual([])
    } finally {
      await h.close()
    }
  })

  it("a corrupted manifest fails with DigestMismatch", async () => {
    const built = await buildAndPush(
      { layers: [busyboxBaseLayer("gzip")] },
      registry.host,
      "corrupt/manifest",
      "v1"
    )
    const file = registry.blobDataPath(built.digest)
    const text = await fs.readFile(file, "utf8")
    await fs.writeFile(file, text.replace("\"schemaVersion\":2", "\"schemaVersion\": 2"))
    const h = await startOci({ insecureRegistries: [registry.host] })
    try {
      const err = await failureOf(h.oci.pull(`${registry.host}/corrupt/manifest@${built.digest}`, anonymous))
      expect(err._tag).toBe("denia/oci/DigestMismatch")
      expect(await fs.readdir(path.join(h.dataDir, "oci-cache/blobs/sha256"))).toEqual([])
    } finally {
      await h.close()
    }
  })
})
