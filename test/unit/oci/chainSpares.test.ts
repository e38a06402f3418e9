/** Spare clones of a chain snapshot, made beside a build and moved into the pull's rootfs (chainSpares.ts, ADR 0812). */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { ChainSnapshots } from "../../../src/oci/chains.js"
import { ChainSpares } from "../../../src/oci/chainSpares.js"
import { makeTempDir } from "../../support/tempDir.js"

let cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups) c()
  cleanups = []
})

const LAYERS = [`sha256:${"a".repeat(64)}`]
const STATE = { bytes: 7, entries: 3, dirs: [] }

/** A snapshot area holding the snapshot of LAYERS (usr/lib/a.so and a symlink), and an empty rootfs for a pull. */
const setup = async () => {
  const t = makeTempDir()
  cleanups.push(t.cleanup)
  const chains = new ChainSnapshots(path.join(t.dir, "chains"), "no shift")
  await chains.init()
  const tmp = await chains.tempDir()
  fs.mkdirSync(path.join(tmp, "rootfs", "usr", "lib"), { recursive: true, mode: 0o700 })
  fs.writeFileSync(path.join(tmp, "rootfs", "usr", "lib", "a.so"), "library")
  fs.symlinkSync("lib/a.so", path.join(tmp, "rootfs", "usr", "link"))
  expect(await chains.publish(LAYERS, tmp, STATE)).toBe(true)
  const rootfs = path.join(t.dir, "bundle", "rootfs")
  fs.mkdirSync(rootfs, { recursive: true, mode: 0o700 })
  const snapshotFile = path.join(chains.dir, chains.key(LAYERS), "rootfs", "usr", "lib", "a.so")
  const temps = () => fs.readdirSync(chains.dir).filter((n) => n.startsWith(".tmp-"))
  return { chains, spares: new ChainSpares(chains), rootfs, snapshotFile, temps }
}

describe("chain spares", () => {
  it("moves a spare clone of the snapshot into the pull's rootfs: the snapshot's files, hard-linked", async () => {
    const { rootfs, snapshotFile, spares, temps } = await setup()
    const release = await spares.prepare(LAYERS, 19)
    expect(release).toBeDefined()
    expect(await spares.moveInto(LAYERS, rootfs)).toBe(true)
    const file = path.join(rootfs, "usr", "lib", "a.so")
    expect(fs.readFileSync(file, "utf8")).toBe("library")
    expect(fs.statSync(file).ino).toBe(fs.statSync(snapshotFile).ino)
    expect(fs.readlinkSync(path.join(rootfs, "usr", "link"))).toBe("lib/a.so")
    expect(spares.size).toBe(0)
    expect(temps()).toEqual([])
    // the release of a taken spare leaves the pull's tree alone
    await release?.()
    expect(fs.readFileSync(file, "utf8")).toBe("library")
    // taken once: the next pull clones as before
    const other = path.join(path.dirname(rootfs), "other")
    fs.mkdirSync(other)
    expect(await spares.moveInto(LAYERS, other)).toBe(false)
    expect(fs.readdirSync(other)).toEqual([])
  })

  it("removes a spare no pull took when it is released", async () => {
    const { spares, temps } = await setup()
    const release = await spares.prepare(LAYERS, 19)
    expect(spares.size).toBe(1)
    await release?.()
    expect(spares.size).toBe(0)
    expect(temps()).toEqual([])
  })

  it("makes no spare without a snapshot of exactly those layers, and one at most per chain", async () => {
    const { spares } = await setup()
    expect(await spares.prepare([...LAYERS, `sha256:${"b".repeat(64)}`], 19)).toBeUndefined()
    const first = await spares.prepare(LAYERS, 19)
    expect(first).toBeDefined()
    expect(await spares.prepare(LAYERS, 19)).toBeUndefined()
    await first?.()
  })

  it("gives a pull nothing when there is no spare, leaving its rootfs empty", async () => {
    const { rootfs, spares } = await setup()
    expect(await spares.moveInto(LAYERS, rootfs)).toBe(false)
    expect(fs.readdirSync(rootfs)).toEqual([])
  })

  it("removes a spare whose pull was cancelled while it was still being made", async () => {
    const { spares, temps } = await setup()
    await spares.prepare(LAYERS, 19)
    const abort = new AbortController()
    abort.abort()
    expect(await spares.take(LAYERS, abort.signal)).toBeUndefined()
    expect(temps()).toEqual([])
  })
})
