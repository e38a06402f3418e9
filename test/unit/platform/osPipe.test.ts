/**
 * Kernel pipes between archive children (ADR 0903): `openOsPipe` gives two blocking ends of one pipe,
 * and the restore pipeline (decompressor → tar-pipe helper → tar) and the backup pipeline (tar → zstd)
 * link their children with such pipes, not with Node's socketpairs. Wrappers placed in front of the real
 * programs record what their stdin/stdout are (`/proc/self/fd`), then exec the real program.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { extractTar } from "../../../src/platform/archive/extractTar.js"
import { openOsPipe } from "../../../src/platform/archive/osPipe.js"
import { packTar } from "../../../src/platform/archive/packTar.js"
import type { GateEntry, GateVerdict } from "../../../src/platform/archive/tarGate.js"

const HELPER = path.resolve("build/native/denia-init")

let work: string
let savedPath: string | undefined
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "denia-ospipe-"))
  savedPath = process.env["PATH"]
})
afterEach(() => {
  process.env["PATH"] = savedPath
  fs.rmSync(work, { recursive: true, force: true })
})

/** A script at `dir/name` that appends "<name> <stdin> <stdout>" to `log` and execs `real`. */
const wrapper = (dir: string, name: string, real: string, log: string) => {
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, name)
  fs.writeFileSync(
    file,
    `#!/bin/sh\necho "${name} $(stat -L -c %F /proc/$$/fd/0 | tr " " _) $(stat -L -c %F /proc/$$/fd/1 | tr " " _)" >> '${log}'\nexec '${real}' "$@"\n`,
    { mode: 0o755 }
  )
  return file
}
const which = (cmd: string) => execFileSync("sh", ["-c", `command -v ${cmd}`]).toString().trim()
const kinds = (log: string) =>
  Object.fromEntries(
    fs.readFileSync(log, "utf8").trim().split("\n").map((line) => {
      const [name, stdin, stdout] = line.split(" ")
      return [name ?? "", { stdin, stdout }]
    })
  )

describe("openOsPipe", () => {
  it("gives the two ends of one kernel pipe", async () => {
    // a private temporary directory: other tests (and processes) make pipes in the shared one meanwhile
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "denia-ospipe-tmp-"))
    const before = process.env["TMPDIR"]
    process.env["TMPDIR"] = tmp
    const p = await openOsPipe().finally(() => {
      if (before === undefined) delete process.env["TMPDIR"]
      else process.env["TMPDIR"] = before
    })
    expect(p).toBeDefined()
    if (p === undefined) return
    expect(fs.fstatSync(p.read).isFIFO()).toBe(true)
    expect(fs.fstatSync(p.write).ino).toBe(fs.fstatSync(p.read).ino)
    fs.writeSync(p.write, "through the kernel")
    const buf = Buffer.alloc(64)
    expect(buf.toString("utf8", 0, fs.readSync(p.read, buf))).toBe("through the kernel")
    await p.close()
    await p.close()
    expect(fs.readdirSync(tmp)).toEqual([])
    fs.rmSync(tmp, { recursive: true, force: true })
  })
})

describe("archive children are linked by kernel pipes", () => {
  const acceptAll = (e: GateEntry): GateVerdict => ({ path: e.name.replace(/^\.\/?/, "").replace(/\/$/, ""), mode: e.mode, uid: 0, gid: 0 })

  it("restore: decompressor → tar-pipe helper → tar -x", async () => {
    const log = path.join(work, "log")
    const bin = path.join(work, "bin")
    wrapper(bin, "zstd", which("zstd"), log)
    wrapper(bin, "tar", which("tar"), log)
    const helper = wrapper(bin, "denia-init", HELPER, log)
    const src = path.join(work, "src")
    fs.mkdirSync(src)
    fs.writeFileSync(path.join(src, "big"), randomBytes(1024 * 1024))
    const archive = execFileSync("sh", ["-c", `tar -cf - -C '${src}' . | zstd -q -c`], { maxBuffer: 16 << 20 })
    process.env["PATH"] = `${bin}:${savedPath ?? ""}`
    const dest = path.join(work, "dest")
    fs.mkdirSync(dest)
    await extractTar(Readable.from([archive]), { compression: "zstd", policy: acceptAll, dest, sameOwner: false, helper })
    expect(fs.readFileSync(path.join(dest, "big")).equals(fs.readFileSync(path.join(src, "big")))).toBe(true)
    const k = kinds(log)
    expect(k["zstd"]?.stdout).toBe("fifo")
    expect(k["denia-init"]).toEqual({ stdin: "fifo", stdout: "fifo" })
    expect(k["tar"]?.stdin).toBe("fifo")
  })

  it("backup: tar -c → zstd", async () => {
    const log = path.join(work, "log")
    const bin = path.join(work, "bin")
    wrapper(bin, "zstd", which("zstd"), log)
    wrapper(bin, "tar", which("tar"), log)
    const src = path.join(work, "src")
    fs.mkdirSync(src)
    fs.writeFileSync(path.join(src, "f"), "data")
    process.env["PATH"] = `${bin}:${savedPath ?? ""}`
    const packed = await packTar(src, "zstd", undefined)
    const chunks: Array<Buffer> = []
    for await (const c of packed.stream) chunks.push(c as Buffer)
    process.env["PATH"] = savedPath
    const listing = execFileSync("sh", ["-c", "zstd -d -q -c | tar -tf -"], { input: Buffer.concat(chunks) }).toString()
    expect(listing.split("\n")).toContain("./f")
    const k = kinds(log)
    expect(k["tar"]?.stdout).toBe("fifo")
    expect(k["zstd"]?.stdin).toBe("fifo")
  })
})
