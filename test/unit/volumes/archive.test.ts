/**
 * Volume archives: a backup stores container ids (shifted back), keeps
 * symlinks and hard links as links; a restore refuses hostile archives by
 * rule and entry, enforces its caps, writes nothing outside the volume and
 * leaves the old contents in place when it fails; zstd is detected.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import * as tar from "tar-stream"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { TarPipeError } from "../../../src/platform/archive/pipeControl.js"
import { ArchiveTooLarge, HostileArchive } from "../../../src/volumes/errors.js"
import { cleanArchivePath, symlinkStaysInside } from "../../../src/volumes/extract.js"
import { packVolume } from "../../../src/volumes/pack.js"
import { restoreVolume } from "../../../src/volumes/store.js"
import { fakeTarPipe } from "../../support/fakeTarPipe.js"

const root = process.getuid?.() === 0
const SHIFT = { base: 100000, size: 65536 }

type EntrySpec = { readonly header: Parameters<tar.Pack["entry"]>[0]; readonly body?: string }

const tarOf = async (entries: ReadonlyArray<EntrySpec>): Promise<Buffer> => {
  const pack = tar.pack()
  const chunks: Array<Buffer> = []
  const done = new Promise<void>((resolve, reject) => {
    pack.on("data", (c: unknown) => chunks.push(Buffer.from(c as Uint8Array)))
    pack.on("end", () => resolve())
    pack.on("error", reject)
  })
  for (const e of entries) pack.entry(e.header, e.body ?? "")
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

let work: string
let volumesRoot: string
let serviceDir: string
const baseLimits = { maxBytes: 1 << 20, maxEntries: 100, idShift: root ? SHIFT : undefined }
/** Restores run through both paths: the in-process gate and the tar-pipe helper (ADR 0902). */
const VIA = [["in-process gate", undefined], ["tar-pipe helper", path.resolve("build/native/denia-init")]] as const

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "denia-volarchive-"))
  volumesRoot = path.join(work, "data", "volumes")
  serviceDir = path.join(volumesRoot, "0190e6a0-0000-7000-8000-000000000001", "db")
  fs.mkdirSync(path.join(work, "data"))
  fs.writeFileSync(path.join(work, "outside.txt"), "untouched")
})
afterEach(() => fs.rmSync(work, { recursive: true, force: true }))

/** Everything below `work` except the volume itself, as relative paths. */
const treeOutsideVolume = () => {
  const out: Array<string> = []
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name)
      if (p === path.join(serviceDir, "data")) continue
      out.push(path.relative(work, p))
      if (fs.lstatSync(p).isDirectory()) walk(p)
    }
  }
  walk(work)
  return out.sort()
}

describe("archive path rules", () => {
  it("normalizes and refuses", () => {
    expect(cleanArchivePath("./a//b/")).toBe("a/b")
    expect(cleanArchivePath("./")).toBe("")
    expect(cleanArchivePath("/etc/passwd")).toEqual({ rule: "absolute path" })
    expect(cleanArchivePath("a/../../b")).toEqual({ rule: "path contains '..'" })
    expect(symlinkStaysInside("a/l", "../b")).toBe(true)
    expect(symlinkStaysInside("a/l", "../../b")).toBe(false)
    expect(symlinkStaysInside("l", "/etc")).toBe(false)
  })
})

for (const [via, tarPipeHelper] of VIA) {
  const limits = { ...baseLimits, tarPipeHelper }
  const restore = (archive: Buffer, options = limits, maxBody = 1 << 22) =>
    restoreVolume(volumesRoot, serviceDir, "data", Readable.from([archive]), maxBody, options)

  const refusal = async (entries: ReadonlyArray<EntrySpec>) => {
    const error = await restore(await tarOf(entries)).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(HostileArchive)
    return error as HostileArchive
  }

  describe(`restore through the ${via}`, () => {
    it("restores files, links and (as root) shifted ownership; the old contents are replaced atomically", async () => {
      fs.mkdirSync(path.join(serviceDir, "data"), { recursive: true })
      fs.writeFileSync(path.join(serviceDir, "data", "old.txt"), "old")
      await restore(
        await tarOf([
          { header: { name: "./", type: "directory", mode: 0o700, uid: 70, gid: 70 } },
          { header: { name: "./base/", type: "directory", mode: 0o750, uid: 70, gid: 70 } },
          { header: { name: "./base/PG_VERSION", type: "file", mode: 0o600, uid: 70, gid: 70 }, body: "15\n" },
          { header: { name: "./base/hard", type: "link", linkname: "./base/PG_VERSION", uid: 70, gid: 70 } },
          { header: { name: "./current", type: "symlink", linkname: "base/PG_VERSION", uid: 70, gid: 70 } }
        ])
      )
      const vol = path.join(serviceDir, "data")
      expect(fs.existsSync(path.join(vol, "old.txt"))).toBe(false)
      expect(fs.readFileSync(path.join(vol, "base", "PG_VERSION"), "utf8")).toBe("15\n")
      expect(fs.statSync(path.join(vol, "base", "hard")).ino).toBe(fs.statSync(path.join(vol, "base", "PG_VERSION")).ino)
      expect(fs.readlinkSync(path.join(vol, "current"))).toBe("base/PG_VERSION")
      expect(fs.statSync(vol).mode & 0o7777).toBe(0o700)
      if (root) {
        expect(fs.statSync(path.join(vol, "base", "PG_VERSION")).uid).toBe(SHIFT.base + 70)
        expect(fs.statSync(vol).uid).toBe(SHIFT.base + 70)
      }
      // the old copy is removed in the background (ADR 0903): gone within a bounded wait, nothing else left
      for (let i = 0; i < 200 && fs.readdirSync(serviceDir).length > 1; i++) await new Promise((r) => setTimeout(r, 25))
      expect(fs.readdirSync(serviceDir)).toEqual(["data"])
    })

    it("a discarded copy a crash left behind is removed by the next restore, the live volume kept", async () => {
      fs.mkdirSync(path.join(serviceDir, "data"), { recursive: true })
      const leftover = path.join(serviceDir, ".discarded-data-0190e6a0-0000-7000-8000-00000000dead")
      fs.mkdirSync(path.join(leftover, "deep"), { recursive: true })
      fs.writeFileSync(path.join(leftover, "deep", "old.txt"), "old")
      // another volume's discarded copy is not this restore's to remove
      const other = path.join(serviceDir, ".discarded-cache-0190e6a0-0000-7000-8000-00000000beef")
      fs.mkdirSync(other)
      await restore(await tarOf([{ header: { name: "./new.txt", type: "file", mode: 0o644 }, body: "new" }]))
      expect(fs.existsSync(leftover)).toBe(false)
      expect(fs.existsSync(other)).toBe(true)
      expect(fs.readFileSync(path.join(serviceDir, "data", "new.txt"), "utf8")).toBe("new")
    })

    const hostile: ReadonlyArray<readonly [string, ReadonlyArray<EntrySpec>, RegExp]> = [
      ["an absolute path", [{ header: { name: "/etc/cron.d/x", type: "file" }, body: "x" }], /absolute path/],
      ["a '..' path", [{ header: { name: "./../../outside.txt", type: "file" }, body: "x" }], /'\.\.'/],
      ["an absolute symlink", [{ header: { name: "./etc", type: "symlink", linkname: "/etc" } }], /symlink target '\/etc'/],
      ["an escaping symlink", [{ header: { name: "./a/l", type: "symlink", linkname: "../../outside.txt" } }], /leaves the volume/],
      [
        "a write through a symlink",
        [
          { header: { name: "./sub/", type: "directory" } },
          { header: { name: "./l", type: "symlink", linkname: "sub" } },
          { header: { name: "./l/x", type: "file" }, body: "x" }
        ],
        /path component 'l' is not a directory/
      ],
      ["a hard link outside", [{ header: { name: "./h", type: "link", linkname: "../outside.txt" } }], /hard link target/],
      ["a hard link to nothing", [{ header: { name: "./h", type: "link", linkname: "missing" } }], /hard link target/],
      ["a device", [{ header: { name: "./null", type: "character-device", devmajor: 1, devminor: 3 } }], /character-device entries/],
      ["a fifo", [{ header: { name: "./p", type: "fifo" } }], /fifo entries/]
    ]
    for (const [what, entries, rule] of hostile) {
      it(`refuses ${what}, names the entry, writes nothing outside the volume`, async () => {
        fs.mkdirSync(path.join(serviceDir, "data"), { recursive: true })
        fs.writeFileSync(path.join(serviceDir, "data", "keep.txt"), "kept")
        const before = treeOutsideVolume()
        const e = await refusal(entries)
        expect(e.message).toMatch(rule)
        expect(e.entry).toBe(entries[entries.length - 1]?.header.name)
        expect(treeOutsideVolume()).toEqual(before)
        expect(fs.readFileSync(path.join(work, "outside.txt"), "utf8")).toBe("untouched")
        // a failed restore leaves the volume as it was
        expect(fs.readdirSync(path.join(serviceDir, "data"))).toEqual(["keep.txt"])
      })
    }

    it.runIf(root)("refuses ids outside the user-namespace range", async () => {
      const e = await refusal([{ header: { name: "./x", type: "file", uid: 70000 }, body: "x" }])
      expect(e.message).toMatch(/uid 70000 is outside/)
    })

    it("enforces the entry, unpacked-size and body caps (413)", async () => {
      const many = Array.from({ length: 5 }, (_, i) => ({ header: { name: `./f${i}`, type: "file" as const }, body: "x" }))
      const entries = await restore(await tarOf(many), { ...limits, maxEntries: 3 }).catch((e: unknown) => e)
      expect(entries).toBeInstanceOf(ArchiveTooLarge)
      expect((entries as ArchiveTooLarge).message).toMatch(/more than 3 entries.*f3/)
      const big = await restore(await tarOf([{ header: { name: "./big", type: "file" }, body: "y".repeat(2048) }]), {
        ...limits,
        maxBytes: 1024
      }).catch((e: unknown) => e)
      expect((big as ArchiveTooLarge).message).toMatch(/unpacked size over 1024 bytes/)
      const body = await restore(await tarOf(many), limits, 1024).catch((e: unknown) => e)
      expect(body).toBeInstanceOf(ArchiveTooLarge)
      expect((body as ArchiveTooLarge).message).toMatch(/request body over 1024 bytes/)
      expect(fs.existsSync(path.join(serviceDir, "data"))).toBe(false)
      expect(fs.readdirSync(serviceDir)).toEqual([])
    })

    it("refuses a stream that is not a tar", async () => {
      const e = await restore(Buffer.from("this is not a tar archive".repeat(40))).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(HostileArchive)
    })
  })
}

describe("restore through a helper that breaks mid-stream", () => {
  for (const mode of ["crash", "bogus"] as const) {
    it(`fails with a typed error, removes the partial directory and keeps the old volume (${mode})`, async () => {
      fs.mkdirSync(path.join(serviceDir, "data"), { recursive: true })
      fs.writeFileSync(path.join(serviceDir, "data", "keep.txt"), "kept")
      const archive = await tarOf([
        { header: { name: "./", type: "directory", mode: 0o755 } },
        { header: { name: "./big", type: "file", mode: 0o644 }, body: "z".repeat(1 << 20) }
      ])
      const options = { ...baseLimits, tarPipeHelper: fakeTarPipe(work, mode) }
      const e = await restoreVolume(volumesRoot, serviceDir, "data", Readable.from([archive]), 1 << 22, options)
        .catch((x: unknown) => x)
      expect(e).toBeInstanceOf(TarPipeError)
      expect(fs.readdirSync(serviceDir)).toEqual(["data"])
      expect(fs.readdirSync(path.join(serviceDir, "data"))).toEqual(["keep.txt"])
      expect(fs.readFileSync(path.join(serviceDir, "data", "keep.txt"), "utf8")).toBe("kept")
    })
  }
})

/** Backups restore through the helper, as the daemon does. */
const restoreBack = (archive: Buffer) =>
  restoreVolume(volumesRoot, serviceDir, "data", Readable.from([archive]), 1 << 22, { ...baseLimits, tarPipeHelper: VIA[1][1] })

describe("backup", () => {
  const packTo = async (dir: string, compress: "none" | "zstd" = "none") => {
    const packed = await packVolume(dir, compress, root ? SHIFT : undefined)
    const chunks: Array<Buffer> = []
    for await (const c of packed.stream) chunks.push(c as Buffer)
    return Buffer.concat(chunks)
  }

  it("stores container ids and links, and restores to the same tree (plain and zstd)", async () => {
    const src = path.join(work, "src")
    fs.mkdirSync(path.join(src, "base"), { recursive: true })
    fs.writeFileSync(path.join(src, "base", "f"), "data")
    fs.linkSync(path.join(src, "base", "f"), path.join(src, "base", "g"))
    fs.symlinkSync("base/f", path.join(src, "l"))
    if (root) { for (const p of ["", "base", "base/f", "l"]) fs.lchownSync(path.join(src, p), SHIFT.base + 70, SHIFT.base + 71) }
    const archive = await packTo(src)
    const listing = execFileSync("tar", ["-tvf", "-", "--numeric-owner"], { input: archive }).toString()
    expect(listing).toMatch(/\.\/base\/f/)
    expect(listing).toMatch(/\.\/base\/g link to \.\/base\/f/)
    expect(listing).toMatch(/\.\/l -> base\/f/)
    if (root) expect(listing).toMatch(/70\/71 .* \.\/base\/f/)

    await restoreBack(archive)
    const vol = path.join(serviceDir, "data")
    expect(fs.readFileSync(path.join(vol, "base", "g"), "utf8")).toBe("data")
    if (root) expect(fs.statSync(path.join(vol, "base", "f")).uid).toBe(SHIFT.base + 70)

    const zst = await packTo(src, "zstd")
    fs.rmSync(vol, { recursive: true })
    await restoreBack(zst)
    expect(fs.readlinkSync(path.join(vol, "l"))).toBe("base/f")
  })

  it("leaves out fifos and sockets (names with wildcards or a newline too) and keeps the files beside them", async () => {
    const src = path.join(work, "src")
    fs.mkdirSync(path.join(src, "run"), { recursive: true })
    for (const name of ["p", "odd*[?]\\", "line\nbreak"]) execFileSync("mkfifo", [path.join(src, "run", name)])
    fs.writeFileSync(path.join(src, "run", "pid"), "1")
    fs.writeFileSync(path.join(src, "run", "p2"), "kept")
    const socket = net.createServer().listen(path.join(src, "run", "sock"))
    await new Promise((r) => socket.once("listening", r))
    try {
      const listing = execFileSync("tar", ["-tf", "-"], { input: await packTo(src) }).toString().split("\n").filter((l) => l !== "")
      expect(listing).toEqual(["./", "./run/", "./run/p2", "./run/pid"])
    } finally {
      socket.close()
    }
  })
})
