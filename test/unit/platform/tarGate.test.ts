/**
 * The tar header gate (ADR 0902): reads ustar, GNU (L/K long names) and pax (x, g) headers the way GNU
 * tar does, refuses what it cannot read (bad checksums, truncated headers or data, sparse files, global
 * headers that set paths), hands the policy the resolved names, and forwards to `tar -x` only headers it
 * wrote itself — normalized names, the policy's ids and mode — followed by the data unchanged, however
 * the input is chunked. Nothing after the end-of-archive block is ever extracted.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { extractTar, type ExtractTarOptions } from "../../../src/platform/archive/extractTar.js"
import { type GateEntry, type GateVerdict, TarGate } from "../../../src/platform/archive/tarGate.js"
import { BLOCK, TarFormatError } from "../../../src/platform/archive/tarHeader.js"
import { HostileArchive } from "../../../src/volumes/errors.js"
import { volumePolicy } from "../../../src/volumes/extract.js"

let work: string
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "denia-targate-"))
})
afterEach(() => fs.rmSync(work, { recursive: true, force: true }))

/** A real archive of `dir` made by GNU tar in `format`. */
const gnuTar = (dir: string, format: "gnu" | "pax" | "ustar", names: ReadonlyArray<string> = ["."]) =>
  execFileSync("tar", ["-c", "-f", "-", `--format=${format}`, "--sort=name", "-C", dir, ...names], { maxBuffer: 64 << 20 })

const seen = (archive: Buffer): Array<GateEntry> => {
  const entries: Array<GateEntry> = []
  const gate = new TarGate((e) => {
    entries.push(e)
    return { path: e.name, mode: e.mode, uid: 0, gid: 0 }
  }, false)
  gate.push(archive)
  gate.end()
  return entries
}

/** Every extraction test runs through both paths: the in-process gate and the tar-pipe helper. */
const VIA = [["in-process gate", undefined], ["tar-pipe helper", path.resolve("build/native/denia-init")]] as const

const acceptAll = (e: GateEntry): GateVerdict => ({ path: e.name.replace(/^\.\/?/, "").replace(/\/$/, ""), mode: e.mode, uid: 0, gid: 0 })

/** Feeds `archive` in pieces of the given sizes (cycled). */
const chunked = (archive: Buffer, sizes: ReadonlyArray<number>) => {
  const parts: Array<Buffer> = []
  for (let at = 0, i = 0; at < archive.length; i++) {
    const n = sizes[i % sizes.length] ?? 1
    parts.push(archive.subarray(at, at + n))
    at += n
  }
  return Readable.from(parts)
}

const corrupt = (archive: Buffer, offset: number) => {
  const copy = Buffer.from(archive)
  copy[offset] = (copy[offset] ?? 0) ^ 0x01
  return copy
}

describe("refusals", () => {
  beforeEach(() => {
    fs.mkdirSync(path.join(work, "src"))
    fs.writeFileSync(path.join(work, "src", "a"), "x".repeat(2000))
  })
  const archive = () => gnuTar(path.join(work, "src"), "gnu")
  const refusal = (data: Buffer) => {
    try {
      seen(data)
    } catch (e) {
      return e
    }
    return undefined
  }

  it("refuses a header whose checksum does not match", () => {
    const e = refusal(corrupt(archive(), BLOCK + 10))
    expect(e).toBeInstanceOf(TarFormatError)
    expect((e as Error).message).toMatch(/checksum/)
  })

  it("refuses a truncated header and truncated data", () => {
    const a = archive()
    expect((refusal(a.subarray(0, BLOCK + 100)) as Error).message).toMatch(/truncated/)
    expect((refusal(a.subarray(0, 2 * BLOCK + 1000)) as Error).message).toMatch(/truncated/)
  })

  it("refuses a header that is neither ustar nor GNU", () => {
    const block = Buffer.alloc(BLOCK)
    block.write("plain.txt", 0)
    block.write("0000644\0", 100)
    block.write("00000000000\0", 124)
    block[156] = 0x30
    block.fill(0x20, 148, 156)
    let sum = 0
    for (const b of block) sum += b
    block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1")
    expect((refusal(Buffer.concat([block, Buffer.alloc(1024)])) as Error).message).toMatch(/not a ustar or GNU/)
  })

  it("refuses sparse files and a global pax header that sets a path", () => {
    fs.writeFileSync(path.join(work, "sparse"), "")
    fs.truncateSync(path.join(work, "sparse"), 4 << 20)
    fs.writeFileSync(path.join(work, "sparse"), "end", { flag: "a" })
    const sparse = execFileSync("tar", ["-c", "-f", "-", "--format=pax", "--sparse", "-C", work, "sparse"])
    expect((refusal(sparse) as Error).message).toMatch(/sparse/)
    const global = execFileSync("tar", ["-c", "-f", "-", "--format=pax", "--pax-option=path=evil", "-C", work, "src"])
    expect((refusal(global) as Error).message).toMatch(/global pax header sets 'path'/)
  })
})

for (const [via, helper] of VIA) {
  describe(`through the ${via}`, () => {
    const extract = (from: Readable, options: ExtractTarOptions) => extractTar(from, { ...options, helper })

    describe("header formats", () => {
      const longDir = `${"d".repeat(120)}/${"e".repeat(60)}`
      const longFile = `${longDir}/${"f".repeat(90)}.txt`
      const longTarget = `${"t".repeat(150)}`
      beforeEach(() => {
        fs.mkdirSync(path.join(work, "src", longDir), { recursive: true })
        fs.writeFileSync(path.join(work, "src", longFile), "long")
        fs.symlinkSync(longTarget, path.join(work, "src", "link"))
      })

      for (const format of ["gnu", "pax"] as const) {
        it(`resolves long names and link targets (${format})`, () => {
          const entries = seen(gnuTar(path.join(work, "src"), format))
          expect(entries.map((e) => e.name)).toContain(`./${longFile}`)
          expect(entries.find((e) => e.name === "./link")).toMatchObject({ type: "symlink", linkname: longTarget })
          expect(entries.find((e) => e.name === `./${longFile}`)).toMatchObject({ type: "file", size: 4 })
        })
      }

      it("reads the ustar prefix field", () => {
        const entries = seen(gnuTar(path.join(work, "src"), "ustar", ["--no-recursion", `./${longDir}`]))
        expect(entries.map((e) => e.name)).toContain(`./${longDir}/`)
      })

      it("extracts long names through tar -x with the names the gate wrote", async () => {
        const dest = path.join(work, "dest")
        fs.mkdirSync(dest)
        await extract(Readable.from([gnuTar(path.join(work, "src"), "gnu")]), {
          compression: "none",
          policy: acceptAll,
          dest,
          sameOwner: false
        })
        expect(fs.readFileSync(path.join(dest, longFile), "utf8")).toBe("long")
        expect(fs.readlinkSync(path.join(dest, "link"))).toBe(longTarget)
      })
    })

    describe("forwarding", () => {
      it("passes file data unchanged whatever the chunking, with normalized names and the policy's mode", async () => {
        const src = path.join(work, "src")
        fs.mkdirSync(path.join(src, "sub"), { recursive: true })
        const data = randomBytes(300 * 1024 + 77)
        fs.writeFileSync(path.join(src, "sub", "blob"), data)
        fs.writeFileSync(path.join(src, "empty"), "")
        fs.chmodSync(path.join(src, "sub", "blob"), 0o4755)
        for (const sizes of [[1, 7, 3], [511, 513], [65536, 7]]) {
          const dest = path.join(work, `dest-${sizes.join("-")}`)
          fs.mkdirSync(dest)
          const names: Array<string> = []
          const entries = await extract(chunked(gnuTar(src, "gnu"), sizes), {
            compression: "none",
            policy: (e) => {
              names.push(e.name)
              return { ...acceptAll(e), mode: e.mode & 0o777 }
            },
            dest,
            sameOwner: false
          })
          expect(entries).toBe(4)
          expect(names).toEqual(["./", "./empty", "./sub/", "./sub/blob"])
          expect(fs.readFileSync(path.join(dest, "sub", "blob")).equals(data)).toBe(true)
          expect(fs.statSync(path.join(dest, "sub", "blob")).mode & 0o7777).toBe(0o755)
          expect(fs.statSync(path.join(dest, "empty")).size).toBe(0)
        }
      })

      it("extracts nothing after the end-of-archive block", async () => {
        fs.mkdirSync(path.join(work, "one"))
        fs.writeFileSync(path.join(work, "one", "first"), "1")
        fs.mkdirSync(path.join(work, "two"))
        fs.writeFileSync(path.join(work, "two", "second"), "2")
        const first = gnuTar(path.join(work, "one"), "gnu", ["first"])
        const dest = path.join(work, "dest")
        fs.mkdirSync(dest)
        const names: Array<string> = []
        await extract(Readable.from([Buffer.concat([first, gnuTar(path.join(work, "two"), "gnu", ["second"])])]), {
          compression: "none",
          policy: (e) => {
            names.push(e.name)
            return acceptAll(e)
          },
          dest,
          sameOwner: false
        })
        expect(names).toEqual(["first"])
        expect(fs.readdirSync(dest)).toEqual(["first"])
      })

      it("decompresses zstd and gzip with their children, and refuses corrupt compressed data", async () => {
        fs.mkdirSync(path.join(work, "src"))
        fs.writeFileSync(path.join(work, "src", "f"), "content")
        const plain = gnuTar(path.join(work, "src"), "gnu")
        for (const [compression, tool] of [["zstd", "zstd"], ["gzip", "gzip"]] as const) {
          const dest = path.join(work, `dest-${compression}`)
          fs.mkdirSync(dest)
          const packed = execFileSync(tool, ["-c"], { input: plain })
          await extract(Readable.from([packed]), { compression, policy: acceptAll, dest, sameOwner: false })
          expect(fs.readFileSync(path.join(dest, "f"), "utf8")).toBe("content")
          const bad = extract(Readable.from([corrupt(packed, packed.length - 6)]), {
            compression,
            policy: acceptAll,
            dest: undefined,
            sameOwner: false
          })
          await expect(bad).rejects.toThrow()
        }
      })
    })

    describe("checking without extracting (an upload's receive path)", () => {
      it("counts the entries of a valid archive, sees every header and writes nothing", async () => {
        fs.mkdirSync(path.join(work, "src", "d"), { recursive: true })
        fs.writeFileSync(path.join(work, "src", "d", "big"), randomBytes(1 << 20)) // spliced/skipped, not read
        fs.writeFileSync(path.join(work, "src", "small"), "x")
        const seen: Array<string> = []
        const packed = execFileSync("zstd", ["-c"], { input: gnuTar(path.join(work, "src"), "pax"), maxBuffer: 16 << 20 })
        const before = fs.readdirSync(work).sort()
        const entries = await extract(Readable.from([packed]), {
          compression: "zstd",
          policy: (e) => {
            seen.push(`${e.name}:${e.size}`)
            return acceptAll(e)
          },
          dest: undefined,
          sameOwner: false
        })
        expect(entries).toBe(4)
        expect(seen).toContain(`./d/big:${1 << 20}`)
        expect(seen).toContain("./small:1")
        expect(fs.readdirSync(work).sort()).toEqual(before)
      })

      it("refuses what the policy refuses, after a large entry it did not read", async () => {
        fs.mkdirSync(path.join(work, "src"))
        fs.writeFileSync(path.join(work, "src", "a-big"), randomBytes(1 << 20))
        fs.writeFileSync(path.join(work, "src", "z-evil"), "x")
        const refusal = await extract(Readable.from([gnuTar(path.join(work, "src"), "gnu", ["a-big", "z-evil"])]), {
          compression: "none",
          policy: (e) => {
            if (e.name.endsWith("evil")) throw new HostileArchive({ rule: "test", entry: e.name })
            return acceptAll(e)
          },
          dest: undefined,
          sameOwner: false
        }).then(() => undefined, (e: unknown) => e)
        expect(refusal).toBeInstanceOf(HostileArchive)
      })
    })

    describe("volume policy through the gate", () => {
      const refuse = async (dir: string, names: ReadonlyArray<string>) => {
        const { policy } = volumePolicy({ maxBytes: 1 << 20, maxEntries: 100, idShift: undefined })
        const dest = path.join(work, "dest")
        fs.mkdirSync(dest, { recursive: true })
        return extract(Readable.from([gnuTar(dir, "gnu", names)]), { compression: "none", policy, dest, sameOwner: false }).then(
          () => undefined,
          (e: unknown) => e
        )
      }

      it("refuses a file below a symlink that came first (real tar input)", async () => {
        const a = path.join(work, "a")
        fs.mkdirSync(path.join(a, "target"), { recursive: true })
        fs.symlinkSync("target", path.join(a, "l"))
        const b = path.join(work, "b")
        fs.mkdirSync(path.join(b, "l"), { recursive: true })
        fs.writeFileSync(path.join(b, "l", "x"), "x")
        const archive = Buffer.concat([gnuTar(a, "gnu", ["l"]).subarray(0, BLOCK), gnuTar(b, "gnu", ["l/x"])])
        const { policy } = volumePolicy({ maxBytes: 1 << 20, maxEntries: 100, idShift: undefined })
        const dest = path.join(work, "dest")
        fs.mkdirSync(dest)
        const e = await extract(Readable.from([archive]), { compression: "none", policy, dest, sameOwner: false }).catch((x: unknown) => x)
        expect(e).toBeInstanceOf(HostileArchive)
        expect((e as HostileArchive).message).toMatch(/path component 'l' is not a directory/)
        expect(fs.existsSync(path.join(work, "a", "target", "x"))).toBe(false)
      })

      it("refuses a hard link to an entry that only comes later", async () => {
        const src = path.join(work, "src")
        fs.mkdirSync(src)
        fs.writeFileSync(path.join(src, "z"), "data")
        fs.linkSync(path.join(src, "z"), path.join(src, "a"))
        // tar stores the first name it meets as the file and later names as links: list the link first by name
        const archive = gnuTar(src, "gnu", ["z", "a"])
        const reordered = (() => {
          // entries: z (header + 1 data block), a (link header); put the link first
          const z = archive.subarray(0, 2 * BLOCK)
          const link = archive.subarray(2 * BLOCK, 3 * BLOCK)
          return Buffer.concat([link, z, Buffer.alloc(2 * BLOCK)])
        })()
        const { policy } = volumePolicy({ maxBytes: 1 << 20, maxEntries: 100, idShift: undefined })
        const gate = new TarGate(policy, false)
        expect(() => gate.push(reordered)).toThrow(/hard link target 'z' is not a file earlier in the archive/)
        expect(await refuse(src, ["z", "a"])).toBeUndefined()
      })
    })
  })
}
