import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { OciFailure } from "../../../src/oci/transport.js"
import { RootfsUnpacker, sanitizeEntryPath } from "../../../src/oci/unpack.js"
import { type LayerSpec, writeLayer } from "../../support/ociImages.js"

describe("sanitizeEntryPath", () => {
  it("normalizes and refuses", () => {
    expect(sanitizeEntryPath("./a/./b/")).toBe("a/b")
    expect(sanitizeEntryPath("./")).toBe("")
    expect(sanitizeEntryPath("a//b")).toBe("a/b")
    expect(sanitizeEntryPath("/etc/passwd")).toEqual({ refused: "absolute path" })
    expect(sanitizeEntryPath("a/../b")).toEqual({ refused: "path contains '..'" })
    expect(sanitizeEntryPath("a\0b")).toEqual({ refused: "path contains a NUL byte" })
    expect(sanitizeEntryPath("..a/b..")).toBe("..a/b..")
  })
})

describe("RootfsUnpacker layer semantics", () => {
  let work: string
  let rootfs: string
  beforeEach(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), "denia-unpack-"))
    await fs.mkdir(path.join(work, "blobs", "sha256"), { recursive: true })
    rootfs = path.join(work, "rootfs")
    await fs.mkdir(rootfs)
  })
  afterEach(async () => fs.rm(work, { recursive: true, force: true }))

  const apply = async (layers: ReadonlyArray<LayerSpec>, limits = { maxBytes: 1 << 30, maxEntries: 10_000 }) => {
    const u = new RootfsUnpacker(rootfs, { ...limits, idShift: undefined })
    for (const [i, l] of layers.entries()) {
      const blob = await writeLayer(work, l)
      await u.applyLayerFile(`L${i}`, path.join(work, "blobs", "sha256", blob.digest.slice(7)))
    }
    await u.finish()
    return u
  }

  it("opaque markers hide lower entries only, wherever they appear in the layer", async () => {
    await apply([
      { entries: [{ kind: "dir", path: "d" }, { kind: "file", path: "d/lower", content: "l" }] },
      { entries: [{ kind: "file", path: "d/upper", content: "u" }, { kind: "opaque", dir: "d" }] }
    ])
    expect(await fs.readdir(path.join(rootfs, "d"))).toEqual(["upper"])
  })

  it("replaces files by directories and directories by files or symlinks", async () => {
    await apply([
      {
        entries: [
          { kind: "file", path: "x", content: "file" },
          { kind: "dir", path: "y" },
          { kind: "file", path: "y/inner", content: "i" },
          { kind: "dir", path: "z" }
        ]
      },
      {
        entries: [
          { kind: "dir", path: "x" },
          { kind: "file", path: "x/now-a-dir", content: "d" },
          { kind: "file", path: "y", content: "now a file" },
          { kind: "symlink", path: "z", target: "/elsewhere" }
        ]
      }
    ])
    expect((await fs.lstat(path.join(rootfs, "x"))).isDirectory()).toBe(true)
    expect(await fs.readFile(path.join(rootfs, "y"), "utf8")).toBe("now a file")
    expect(await fs.readlink(path.join(rootfs, "z"))).toBe("/elsewhere")
  })

  it("keeps a hardlink when its original is whited out, and applies read-only directory modes last", async () => {
    await apply([
      {
        entries: [
          { kind: "dir", path: "ro", mode: 0o555 },
          { kind: "file", path: "ro/orig", content: "data" },
          { kind: "hardlink", path: "ro/link", target: "ro/orig" }
        ]
      },
      { entries: [{ kind: "whiteout", path: "ro/orig" }, { kind: "file", path: "ro/added", content: "later" }] }
    ])
    expect(await fs.readFile(path.join(rootfs, "ro/link"), "utf8")).toBe("data")
    expect((await fs.readdir(path.join(rootfs, "ro"))).sort()).toEqual(["added", "link"])
    expect((await fs.stat(path.join(rootfs, "ro"))).mode & 0o777).toBe(0o555)
  })

  it("creates missing parents and preserves file modes incl. setuid", async () => {
    await apply([{ entries: [{ kind: "file", path: "deep/er/tool", content: "#!", mode: 0o4755 }] }])
    expect((await fs.stat(path.join(rootfs, "deep/er"))).mode & 0o777).toBe(0o755)
    expect((await fs.stat(path.join(rootfs, "deep/er/tool"))).mode & 0o7777).toBe(0o4755)
  })

  it("counts bytes across layers against the cap", async () => {
    const err = await apply(
      [
        { entries: [{ kind: "file", path: "a", content: Buffer.alloc(600) }] },
        { entries: [{ kind: "file", path: "b", content: Buffer.alloc(600) }] }
      ],
      { maxBytes: 1000, maxEntries: 100 }
    ).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OciFailure)
    if (err instanceof OciFailure) {
      expect(err.error._tag).toBe("denia/oci/UnpackLimitExceeded")
      expect(err.message).toContain("b")
    }
    await expect(fs.lstat(path.join(rootfs, "b"))).rejects.toThrow(/ENOENT/)
  })

  it("rejects a layer that is not a tar stream", async () => {
    const bogus = path.join(work, "bogus")
    await fs.writeFile(bogus, Buffer.from("this is not a tar archive at all, just some text ".repeat(20)))
    const u = new RootfsUnpacker(rootfs, { maxBytes: 1 << 20, maxEntries: 10, idShift: undefined })
    const err = await u.applyLayerFile("bogus", bogus).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OciFailure)
    if (err instanceof OciFailure) expect(err.error._tag).toBe("denia/oci/HostileLayer")
  })
})
