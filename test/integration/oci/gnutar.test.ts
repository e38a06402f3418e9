import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { RootfsUnpacker } from "../../../src/oci/unpack.js"
import { runTool } from "../../support/ociImages.js"

/** type/mode/size/target/content-hash of every path, for tree comparison. */
const snapshot = async (root: string): Promise<Record<string, string>> => {
  const out: Record<string, string> = {}
  const walk = async (rel: string) => {
    for (const name of await fs.readdir(path.join(root, rel))) {
      const r = rel === "" ? name : `${rel}/${name}`
      const p = path.join(root, r)
      const st = await fs.lstat(p)
      const mode = (st.mode & 0o7777).toString(8)
      if (st.isSymbolicLink()) out[r] = `l ${await fs.readlink(p)}`
      else if (st.isDirectory()) {
        out[r] = `d ${mode}`
        await walk(r)
      } else {
        out[r] = `f ${mode} ${st.size} ${st.nlink} ${createHash("sha256").update(await fs.readFile(p)).digest("hex")}`
      }
    }
  }
  await walk("")
  return out
}

describe("unpack fidelity against GNU tar", () => {
  let work: string
  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), "denia-gnutar-"))
    // a source tree with nested dirs, symlinks, hardlinks, odd modes and long names
    const src = path.join(work, "src")
    await fs.cp("/usr/share/zoneinfo", path.join(src, "zoneinfo"), { recursive: true, verbatimSymlinks: true })
    await fs.mkdir(path.join(src, "odd", "read-only-dir"), { recursive: true })
    await fs.writeFile(path.join(src, "odd", "read-only-dir", "f"), "x")
    await fs.chmod(path.join(src, "odd", "read-only-dir"), 0o555)
    await fs.writeFile(path.join(src, "odd", "setuid"), "s")
    await fs.chmod(path.join(src, "odd", "setuid"), 0o4755)
    await fs.link(path.join(src, "odd", "setuid"), path.join(src, "odd", "setuid-hardlink"))
    const long = `${"d".repeat(120)}/${"e".repeat(120)}`
    await fs.mkdir(path.join(src, "odd", long), { recursive: true })
    await fs.writeFile(path.join(src, "odd", long, `${"f".repeat(150)}.txt`), "long")
    await fs.symlink(`../${"t".repeat(200)}`, path.join(src, "odd", "long-link"))
  })
  afterAll(async () => {
    await fs.chmod(path.join(work, "src", "odd", "read-only-dir"), 0o755).catch(() => undefined)
    await fs.rm(work, { recursive: true, force: true })
  })

  for (const format of ["gnu", "posix"] as const) {
    it(`matches tar -x for a ${format}-format gzip layer`, async () => {
      const layer = path.join(work, `layer-${format}.tar.gz`)
      await runTool("tar", [`--format=${format}`, "--numeric-owner", "-C", path.join(work, "src"), "-czf", layer, "."])
      const expected = path.join(work, `expected-${format}`)
      await fs.mkdir(expected)
      await runTool("tar", ["-C", expected, "-xzpf", layer])
      const rootfs = path.join(work, `rootfs-${format}`)
      await fs.mkdir(rootfs)
      const u = new RootfsUnpacker(rootfs, { maxBytes: 1 << 30, maxEntries: 100_000, idShift: undefined })
      await u.applyLayerFile("gnu", layer)
      await u.finish()
      const a = await snapshot(rootfs)
      const b = await snapshot(expected)
      expect(Object.keys(a).length).toBeGreaterThan(1000)
      expect(a).toEqual(b)
    })
  }

  it("matches tar -x for a zstd layer and an uncompressed layer", async () => {
    const plain = path.join(work, "layer.tar")
    await runTool("tar", ["--format=posix", "--numeric-owner", "-C", path.join(work, "src"), "-cf", plain, "."])
    await runTool("zstd", ["-q", "-19", "-f", plain, "-o", `${plain}.zst`])
    const expected = path.join(work, "expected-plain")
    await fs.mkdir(expected)
    await runTool("tar", ["-C", expected, "-xpf", plain])
    const want = await snapshot(expected)
    for (const layer of [plain, `${plain}.zst`]) {
      const rootfs = await fs.mkdtemp(path.join(work, "rootfs-"))
      const u = new RootfsUnpacker(rootfs, { maxBytes: 1 << 30, maxEntries: 100_000, idShift: undefined })
      await u.applyLayerFile(path.basename(layer), layer)
      await u.finish()
      expect(await snapshot(rootfs)).toEqual(want)
    }
  })
})
