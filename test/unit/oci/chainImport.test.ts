/**
 * A chain snapshot copied from an unpacked tree (ADR 0813) is the tree the unpacker makes of the same
 * content: the fixture tree is packed by GNU tar and applied by the unpacker with the ownership shift,
 * and imported by `importChain`; both trees and both directory states must match entry by entry (types,
 * modes with setuid bits, shifted owners, contents, link targets, hard links, times). What the import
 * cannot copy faithfully it declines. Needs root (ownership).
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { importChain, type ImportLimits } from "../../../src/oci/chainImport.js"
import { ChainSnapshots } from "../../../src/oci/chains.js"
import { RootfsUnpacker } from "../../../src/oci/unpack.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("chain import tests skipped: they need root (file ownership)")

const SHIFT = { base: 200_000, size: 65_536 }
const LIMITS: ImportLimits = { maxBytes: 1 << 30, maxEntries: 10_000, idShift: SHIFT, nice: 0 }
const LAYER = `sha256:${"a".repeat(64)}`

/** Every entry below `root` but directories: what it is, as a comparable line. */
const describeTree = (root: string): Array<string> => {
  const out: Array<string> = []
  const inodes = new Map<number, string>()
  const walk = (rel: string) => {
    for (const name of fsSync.readdirSync(path.join(root, rel)).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`
      const st = fsSync.lstatSync(path.join(root, r))
      if (st.isDirectory()) {
        walk(r)
        continue
      }
      const owner = `${st.uid}:${st.gid}`
      if (st.isSymbolicLink()) out.push(`${r} link ${fsSync.readlinkSync(path.join(root, r))} ${owner}`)
      else if (st.isFile()) {
        const first = inodes.get(st.ino)
        if (first === undefined) inodes.set(st.ino, r)
        const sum = createHash("sha256").update(fsSync.readFileSync(path.join(root, r))).digest("hex").slice(0, 16)
        out.push(
          `${r} file ${(st.mode & 0o7777).toString(8)} ${owner} ${sum} ${Math.floor(st.mtimeMs / 1000)}${
            first === undefined ? "" : ` same as ${first}`
          }`
        )
      } else out.push(`${r} other`)
    }
  }
  walk("")
  return out
}

describe.runIf(privileged)("importChain (privileged)", () => {
  let work: string
  let tree: string
  let chains: ChainSnapshots
  beforeEach(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), "denia-chain-import-"))
    tree = path.join(work, "tree")
    chains = new ChainSnapshots(path.join(work, "chains"), "test")
    await chains.init()
    const at = (rel: string) => path.join(tree, rel)
    for (const d of ["etc", "usr/bin", "var/www/html", "run", "empty dir"]) await fs.mkdir(at(d), { recursive: true })
    await fs.writeFile(at("etc/hosts"), "127.0.0.1 localhost\n")
    await fs.writeFile(at("usr/bin/sudo"), "#!/bin/sh\n")
    await fs.chmod(at("usr/bin/sudo"), 0o4755)
    await fs.writeFile(at("usr/bin/tool"), "tool\n")
    await fs.link(at("usr/bin/tool"), at("usr/bin/tool2"))
    await fs.symlink("usr/bin", at("bin"))
    await fs.symlink("/etc/hosts", at("etc/hosts.abs"))
    await fs.lchown(at("etc/hosts.abs"), 5, 6)
    await fs.writeFile(at("var/www/html/a b.txt"), "with a space\n")
    await fs.writeFile(at("var/www/html/-rf"), "a name like an option\n")
    await fs.chown(at("var/www/html/a b.txt"), 33, 33)
    await fs.chown(at("var/www"), 33, 34)
    await fs.chmod(at("var/www"), 0o750)
    await fs.chmod(at("run"), 0o1777)
    execFileSync("mkfifo", [at("run/fifo")])
    // a bottom layer's whiteout as the build's storage keeps it: a character device 0/0
    execFileSync("mknod", [at("etc/gone"), "c", "0", "0"])
    const old = new Date("2020-01-02T03:04:05Z")
    await fs.utimes(at("etc/hosts"), old, old)
    await fs.utimes(at("var/www"), old, old)
  })
  afterEach(async () => fs.rm(work, { recursive: true, force: true }))

  it("makes the tree and the directory state the unpacker makes of the same content", async () => {
    const tar = path.join(work, "layer.tar")
    execFileSync("tar", ["-C", tree, "--numeric-owner", "--format=posix", "-cf", tar, "."])
    const unpacked = path.join(work, "unpacked")
    await fs.mkdir(unpacked)
    const u = new RootfsUnpacker(unpacked, { maxBytes: 1 << 30, maxEntries: 10_000, idShift: SHIFT })
    await u.applyLayerFile("L", tar)

    const outcome = await importChain(chains, [LAYER], tree, LIMITS)
    expect(outcome).toMatchObject({ _tag: "imported" })
    const snapshot = path.join(chains.dir, chains.key([LAYER]))
    const imported = path.join(snapshot, "rootfs")

    const expected = describeTree(unpacked)
    expect(expected.find((l) => l.startsWith("usr/bin/sudo "))).toMatch(/^usr\/bin\/sudo file 4755 200000:200000 /)
    expect(expected.some((l) => l.startsWith("usr/bin/tool2 ") && l.endsWith("same as usr/bin/tool"))).toBe(true)
    expect(expected).toContain("etc/hosts.abs link /etc/hosts 200005:200006")
    expect(describeTree(imported)).toEqual(expected)

    // the directories' metadata, pending in state.json like the unpacker's (unshifted; applied by `finish`)
    const state = JSON.parse(await fs.readFile(path.join(snapshot, "state.json"), "utf8")) as {
      layers: Array<string>
      entries: number
      dirs: Array<[string, { mode: number; uid: number; gid: number; mtime?: string }]>
    }
    expect(state.layers).toEqual([LAYER])
    const norm = (dirs: ReadonlyArray<readonly [string, { mode: number; uid: number; gid: number; mtime?: string | undefined }]>) =>
      dirs.filter(([rel]) => rel !== "").map(([rel, m]) => `${rel} ${m.mode.toString(8)} ${m.uid}:${m.gid} ${m.mtime?.slice(0, 19)}`).sort()
    expect(norm(state.dirs)).toEqual(norm(u.state().dirs))
    expect(norm(state.dirs)).toContain("var/www 750 33:34 2020-01-02T03:04:05")
    expect(norm(state.dirs).find((l) => l.startsWith("run "))).toMatch(/^run 1777 0:0 /)
    expect(state.entries).toBeGreaterThan(10)

    // a second import finds the snapshot; nothing is left in the snapshot area but the snapshot
    expect(await importChain(chains, [LAYER], tree, LIMITS)).toEqual({ _tag: "exists" })
    expect((await fs.readdir(chains.dir)).filter((n) => n.startsWith(".tmp-"))).toEqual([])
  })

  it("declines what it cannot copy as the unpacker would, and leaves nothing behind", async () => {
    const declined = async (layers: ReadonlyArray<string>, limits: ImportLimits = LIMITS) => {
      const outcome = await importChain(chains, layers, tree, limits)
      expect(await fs.readdir(chains.dir)).toEqual([])
      return outcome
    }
    expect(await declined([LAYER, LAYER])).toEqual({ _tag: "declined", reason: "the base has more than one layer" })
    expect(await declined([LAYER], { ...LIMITS, idShift: undefined })).toMatchObject({ _tag: "declined" })
    expect(await declined([LAYER], { ...LIMITS, maxEntries: 5 })).toEqual({ _tag: "declined", reason: "more than 5 entries" })
    expect(await declined([LAYER], { ...LIMITS, maxBytes: 10 })).toEqual({ _tag: "declined", reason: "larger than a pull may unpack" })
    await fs.chown(path.join(tree, "etc/hosts"), 70_000, 0)
    expect(await declined([LAYER])).toEqual({ _tag: "declined", reason: "id 70000 outside the shift's range" })
    await fs.chown(path.join(tree, "etc/hosts"), 0, 0)
    await fs.writeFile(Buffer.concat([Buffer.from(`${tree}/`), Buffer.from([0xff, 0xfe])]), "not utf-8")
    expect(await declined([LAYER])).toEqual({ _tag: "declined", reason: "a name that is not UTF-8" })
  })
})
