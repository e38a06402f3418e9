/**
 * The push packer: the native `tar | zstd` path and the in-process fallback produce the same entries
 * from the same listing — ignored files absent, the Dockerfile present, hardlinks stored as plain files,
 * symlinks as symlinks, odd names (a leading dash, a newline, past 100 bytes) intact, owners and times
 * normalised — and the packed-bytes measure (the progress bar's) stays within the computed tar size.
 * The plain tar (a daemon on this host, ADR 0820) is exactly `tarBytes` long, whatever the names: past
 * 100 bytes, exactly 100, past one pax block, not ASCII, long or non-ASCII link targets, every size
 * around a block boundary.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pipeline, type Readable } from "node:stream"
import { text } from "node:stream/consumers"
import * as tar from "tar-stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ContextListing, listContext, nativePackerAvailable, packContext, tarBytes } from "../../../src/cli/client/pack.js"
import { ZstdDecompressStream } from "../../../src/oci/decompress.js"

const hasTools = (() => {
  try {
    return execFileSync("tar", ["--version"], { encoding: "utf8" }).includes("GNU tar") &&
      execFileSync("zstd", ["--version"], { encoding: "utf8" }).length > 0
  } catch {
    return false
  }
})()

interface Entry {
  readonly name: string
  readonly type: string
  readonly linkname: string | null | undefined
  readonly body: string
  readonly uid: number | undefined
  readonly mtime: number | undefined
  readonly mode: number | undefined
}

const read = async (stream: Readable): Promise<Array<Entry>> => {
  const extract = tar.extract()
  // a failure of the packed stream tears the extractor down too (as the upload's pipeline does)
  pipeline(stream, new ZstdDecompressStream(), extract, () => undefined)
  const out: Array<Entry> = []
  for await (const entry of extract) {
    const h = entry.header
    out.push({
      name: h.name,
      type: h.type ?? "",
      linkname: h.linkname,
      body: await text(entry),
      uid: h.uid,
      mtime: h.mtime?.getTime(),
      mode: h.mode
    })
  }
  return out
}

const longName = `deep/${"n".repeat(120)}.txt`

describe.runIf(hasTools)("push packing", () => {
  let dir: string
  let listing: ContextListing

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-pack-"))
    const write = (rel: string, content: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
      fs.writeFileSync(path.join(dir, rel), content)
    }
    write("Dockerfile", "FROM scratch\n")
    write(".gitignore", "node_modules/\nbuild.log\n")
    write(".dockerignore", "secret.txt\nDockerfile\n")
    write("node_modules/x/index.js", "ignored\n")
    write("secret.txt", "do-not-upload\n")
    write("build.log", "ignored too\n")
    write("src/app.py", "print('hi')\n")
    write("-rf", "a name like an option\n")
    write("new\nline", "odd name\n")
    write(longName, "long\n")
    fs.linkSync(path.join(dir, "src/app.py"), path.join(dir, "src/hard.py"))
    fs.symlinkSync("app.py", path.join(dir, "src/link.py"))
    fs.chmodSync(path.join(dir, "src/app.py"), 0o4755)
    execFileSync("git", ["init", "-q"], { cwd: dir })
    listing = await listContext(dir, "Dockerfile")
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("lists tracked and untracked files minus the ignored ones, the Dockerfile always", () => {
    expect(listing.viaGit).toBe(true)
    expect(listing.files.map((f) => f.rel)).toEqual(
      ["-rf", ".dockerignore", ".gitignore", "Dockerfile", longName, "new\nline", "src/app.py", "src/hard.py", "src/link.py"]
    )
  })

  for (const native of [true, false]) {
    it(`${native ? "GNU tar | zstd" : "in-process"} packs exactly the listing`, async () => {
      let packed = 0
      const p = packContext(dir, listing, (n) => (packed += n), native)
      expect(p.packer).toBe(native ? "gnu-tar" : "tar-stream")
      expect(p.format).toBe("zstd")
      const entries = await read(p.stream)
      expect(entries.map((e) => e.name)).toEqual(listing.files.map((f) => f.rel))
      const byName = new Map(entries.map((e) => [e.name, e]))
      expect(byName.get("src/hard.py")).toMatchObject({ type: "file", body: "print('hi')\n" })
      expect(byName.get("src/link.py")).toMatchObject({ type: "symlink", linkname: "app.py" })
      expect(byName.get(longName)?.body).toBe("long\n")
      expect(byName.get("-rf")?.body).toBe("a name like an option\n")
      expect(byName.get("new\nline")?.body).toBe("odd name\n")
      expect(entries.every((e) => e.uid === 0 && e.mtime === 0)).toBe(true)
      expect((byName.get("src/app.py")?.mode ?? 0) & 0o7000).toBe(0)
      expect(packed).toBeLessThanOrEqual(tarBytes(listing))
      if (!native) expect(packed).toBeGreaterThan(0)
    })
  }

  it("fails the stream when tar fails (a context directory that vanished)", async () => {
    const gone = path.join(dir, "missing-dir")
    const p = packContext(gone, listing, () => undefined, true)
    await expect(read(p.stream)).rejects.toThrow(/tar exited 2/)
  })
})

const readPlain = async (
  stream: Readable
): Promise<{ bytes: number; entries: Array<{ name: string; linkname: string | null | undefined; body: string }> }> => {
  const extract = tar.extract()
  let bytes = 0
  stream.on("data", (c: Buffer) => (bytes += c.length))
  pipeline(stream, extract, () => undefined)
  const entries: Array<{ name: string; linkname: string | null | undefined; body: string }> = []
  for await (const entry of extract) entries.push({ name: entry.header.name, linkname: entry.header.linkname, body: await text(entry) })
  return { bytes, entries }
}

describe.runIf(hasTools)("the plain tar's length", () => {
  let dir: string
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-pack-plain-"))
    const write = (rel: string, size: number) => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
      fs.writeFileSync(path.join(dir, rel), "x".repeat(size))
    }
    write("Dockerfile", 13)
    write("n".repeat(100), 512)
    write("m".repeat(101), 1)
    write(`${"a".repeat(60)}/${"b".repeat(60)}/${"c".repeat(50)}`, 513)
    write(`${"d/".repeat(300)}deep`, 511)
    write(`${"e/".repeat(60)}${"é".repeat(100)}`, 0)
    write("héllo.txt", 1025)
    write("empty", 0)
    fs.symlinkSync("t".repeat(150), path.join(dir, "long-link"))
    fs.symlinkSync("ünïcode", path.join(dir, "odd-link"))
    fs.symlinkSync("Dockerfile", path.join(dir, "short-link"))
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("is exactly tarBytes, and the tar holds every listed file", async () => {
    const listing = await listContext(dir, "Dockerfile")
    expect(listing.files).toHaveLength(11)
    const p = packContext(dir, listing, () => undefined, true, true)
    expect(p).toMatchObject({ format: "tar", packer: "gnu-tar", length: tarBytes(listing) })
    const { bytes, entries } = await readPlain(p.stream)
    expect(bytes).toBe(tarBytes(listing))
    expect(entries.map((e) => e.name)).toEqual(listing.files.map((f) => f.rel))
    expect(entries.find((e) => e.name === "odd-link")?.linkname).toBe("ünïcode")
    expect(entries.find((e) => e.name === "héllo.txt")?.body).toHaveLength(1025)
  })

  it("differs from tarBytes once a file changed size after the listing", async () => {
    const listing = await listContext(dir, "Dockerfile")
    fs.writeFileSync(path.join(dir, "empty"), "y".repeat(30_000))
    try {
      const { bytes } = await readPlain(packContext(dir, listing, () => undefined, true, true).stream)
      expect(bytes).not.toBe(tarBytes(listing))
    } finally {
      fs.writeFileSync(path.join(dir, "empty"), "")
    }
  })
})

describe("the native packer's tool check", () => {
  it("finds GNU tar and zstd without blocking, and agrees with what packContext picks by itself", async () => {
    const found = nativePackerAvailable()
    expect(found).toBeInstanceOf(Promise)
    expect(await found).toBe(hasTools)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-pack-tools-"))
    try {
      fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\n")
      const p = packContext(dir, await listContext(dir, "Dockerfile"))
      expect(p.packer).toBe(hasTools ? "gnu-tar" : "tar-stream")
      p.stream.destroy()
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
