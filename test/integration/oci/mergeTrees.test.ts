/**
 * mergeLayerTrees (ADR 0822) on real overlayfs layer trees: each upper layer is the upper dir of a real
 * overlay mount in which the test changed the tree below (so whiteouts and opaque marks are the kernel's
 * own), and the merged result must equal what that overlay mount shows, with hard links to the layers'
 * inodes and the layers' owners kept.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mergeLayerTrees, MergeRefused } from "../../../src/oci/mergeTrees.js"
import { resolveHelperPath } from "../../../src/runtime/index.js"
import { treeListing } from "../../support/treeListing.js"

const privileged = process.getuid?.() === 0
const helperPath = resolveHelperPath()
if (!privileged) console.warn("mergeTrees tests skipped: they need root (overlay mounts, trusted xattrs)")

describe.runIf(privileged)("mergeLayerTrees (privileged)", () => {
  let dir: string
  const mounted: Array<string> = []

  /** A new layer over `lowers` (bottom first): `change` runs on the overlay's merged view; returns the upper dir. */
  const layerOver = (name: string, lowers: ReadonlyArray<string>, change: (merged: string) => void, extra = ""): string => {
    const upper = path.join(dir, name)
    const work = path.join(dir, `${name}.work`)
    const merged = path.join(dir, `${name}.merged`)
    for (const d of [upper, work, merged]) fs.mkdirSync(d)
    const lowerdir = [...lowers].reverse().join(":")
    execFileSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lowerdir},upperdir=${upper},workdir=${work}${extra}`, merged])
    mounted.push(merged)
    change(merged)
    return upper
  }

  const mergedOf = (name: string) => path.join(dir, `${name}.merged`)

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-merge-"))
  })
  afterAll(() => {
    for (const m of mounted.reverse()) execFileSync("umount", ["-l", m])
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("equals the overlay's view: whiteouts, opaque dirs, a dir over a symlink, a file over a dir", async () => {
    const base = path.join(dir, "base")
    fs.mkdirSync(path.join(base, "etc", "conf.d"), { recursive: true })
    fs.writeFileSync(path.join(base, "etc", "gone"), "gone\n")
    fs.writeFileSync(path.join(base, "etc", "conf.d", "a"), "a\n")
    fs.writeFileSync(path.join(base, "etc", "kept"), "kept\n")
    fs.mkdirSync(path.join(base, "var", "cache"), { recursive: true })
    fs.writeFileSync(path.join(base, "var", "cache", "x"), "x\n")
    fs.symlinkSync("/etc", path.join(base, "link"))
    fs.mkdirSync(path.join(base, "tree"))
    fs.writeFileSync(path.join(base, "tree", "inside"), "inside\n")
    fs.writeFileSync(path.join(base, "owned"), "owned\n")
    fs.chownSync(path.join(base, "owned"), 1000, 1001)
    const l1 = layerOver("l1", [base], (m) => {
      fs.rmSync(path.join(m, "etc", "gone"))
      fs.rmSync(path.join(m, "etc", "conf.d"), { recursive: true })
      fs.mkdirSync(path.join(m, "etc", "conf.d"))
      fs.writeFileSync(path.join(m, "etc", "conf.d", "b"), "b\n")
      fs.rmSync(path.join(m, "link"))
      fs.mkdirSync(path.join(m, "link"), { mode: 0o750 })
      fs.writeFileSync(path.join(m, "link", "passwd"), "not the host's\n")
      fs.rmSync(path.join(m, "tree"), { recursive: true })
      fs.writeFileSync(path.join(m, "tree"), "now a file\n")
      fs.chmodSync(path.join(m, "owned"), 0o600)
    })
    const l2 = layerOver("l2", [base, l1], (m) => {
      fs.rmSync(path.join(m, "var"), { recursive: true })
      fs.writeFileSync(path.join(m, "etc", "kept"), "changed\n")
    })
    const rootfs = path.join(dir, "rootfs")
    fs.mkdirSync(rootfs)
    await mergeLayerTrees([base, l1, l2], rootfs, { maxEntries: 1000 }, { helperPath })
    expect(treeListing(rootfs)).toEqual(treeListing(mergedOf("l2")))
    // the overlay's upper dirs really hold the marks this merge must honour
    expect(fs.lstatSync(path.join(l1, "etc", "gone")).isCharacterDevice()).toBe(true)
    // hard links: the layers' own inodes
    expect(fs.statSync(path.join(rootfs, "etc", "kept")).ino).toBe(fs.statSync(path.join(l2, "etc", "kept")).ino)
    expect(fs.statSync(path.join(rootfs, "etc", "conf.d", "b")).ino).toBe(fs.statSync(path.join(l1, "etc", "conf.d", "b")).ino)
    // the host's /etc was never written through the base's symlink
    expect(fs.readFileSync("/etc/passwd", "utf8")).not.toBe("not the host's\n")
    expect(fs.lstatSync(path.join(rootfs, "link")).isDirectory()).toBe(true)
  })

  it("stops at the entry limit", async () => {
    const base = path.join(dir, "base2")
    fs.mkdirSync(base)
    const upper = layerOver("many", [base], (m) => {
      for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(m, `f${i}`), "")
    })
    const rootfs = path.join(dir, "rootfs2")
    fs.mkdirSync(rootfs)
    await expect(mergeLayerTrees([base, upper], rootfs, { maxEntries: 10 }, { helperPath })).rejects.toThrow(/max_entries/)
  })

  it("refuses a layer with an overlay redirect mark, before linking anything", async () => {
    const base = path.join(dir, "base3")
    fs.mkdirSync(path.join(base, "old"), { recursive: true })
    fs.writeFileSync(path.join(base, "old", "f"), "f\n")
    const upper = layerOver("redirect", [base], (m) => fs.renameSync(path.join(m, "old"), path.join(m, "new")), ",redirect_dir=on")
    const rootfs = path.join(dir, "rootfs3")
    fs.mkdirSync(rootfs)
    const merging = mergeLayerTrees([base, upper], rootfs, { maxEntries: 1000 }, { helperPath })
    await expect(merging).rejects.toBeInstanceOf(MergeRefused)
    await expect(merging).rejects.toThrow(/redirect/)
    expect(fs.readdirSync(rootfs)).toEqual([])
  })
})
