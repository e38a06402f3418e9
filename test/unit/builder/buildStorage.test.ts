/**
 * Reading the build storage's layer records (ADR 0813): a layer counts only when complete, with the blob
 * digest asked for, in the order of the image's chain (parent links), and with its tree on disk.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { buildStoragePaths, parseLayers, storedLayerTrees } from "../../../src/builder/buildStorage.js"

const id = (c: string) => c.repeat(64)
const digest = (c: string) => `sha256:${c.repeat(64)}`

describe("build storage layers", () => {
  let root: string
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "denia-build-storage-"))
    await fs.mkdir(path.join(root, "overlay-layers"))
  })
  afterEach(async () => fs.rm(root, { recursive: true, force: true }))

  const write = async (layers: ReadonlyArray<object>, trees: ReadonlyArray<string> = []) => {
    await fs.writeFile(path.join(root, "overlay-layers", "layers.json"), JSON.stringify(layers))
    for (const t of trees) await fs.mkdir(path.join(root, "overlay", t, "diff"), { recursive: true })
  }

  it("places a project's storage under builds/cache", () => {
    expect(buildStoragePaths("/d/builds", "p1")).toEqual({ root: "/d/builds/cache/p1/root", runRoot: "/d/builds/cache/p1/run" })
  })

  it("finds a chain of complete layers by blob digest, bottom first", async () => {
    await write([
      { id: id("1"), "compressed-diff-digest": digest("a") },
      { id: id("2"), parent: id("1"), "compressed-diff-digest": digest("b") }
    ], [id("1"), id("2")])
    expect(await storedLayerTrees(root, [digest("a")])).toEqual([path.join(root, "overlay", id("1"), "diff")])
    expect(await storedLayerTrees(root, [digest("a"), digest("b")])).toEqual([
      path.join(root, "overlay", id("1"), "diff"),
      path.join(root, "overlay", id("2"), "diff")
    ])
    // b is not a bottom layer, and the order is the chain's
    expect(await storedLayerTrees(root, [digest("b")])).toBeUndefined()
    expect(await storedLayerTrees(root, [digest("b"), digest("a")])).toBeUndefined()
  })

  it("does not count a layer still being written, one without its tree, or a storage without records", async () => {
    expect(await storedLayerTrees(root, [digest("a")])).toBeUndefined()
    await write([{ id: id("1"), "compressed-diff-digest": digest("a"), flags: { incomplete: true } }], [id("1")])
    expect(await storedLayerTrees(root, [digest("a")])).toBeUndefined()
    await write([{ id: id("3"), "compressed-diff-digest": digest("a") }])
    expect(await storedLayerTrees(root, [digest("a")])).toBeUndefined()
    await fs.writeFile(path.join(root, "overlay-layers", "layers.json"), "[{\"id\": ")
    expect(await storedLayerTrees(root, [digest("a")])).toBeUndefined()
  })

  it("ignores malformed records (an id that is not 64 hex digits could name a path outside the storage)", () => {
    expect(parseLayers(JSON.stringify([
      { id: "../../etc", "compressed-diff-digest": digest("a") },
      { id: id("2"), parent: "../x", "compressed-diff-digest": digest("a") },
      { id: id("1"), "compressed-diff-digest": digest("a") },
      "junk",
      null
    ]))).toEqual([{ id: id("1"), parent: undefined, compressedDigest: digest("a"), incomplete: false }])
    expect(parseLayers("{}")).toEqual([])
  })
})
