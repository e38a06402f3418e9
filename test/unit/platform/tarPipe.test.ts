/**
 * `denia-init tar-pipe` driven directly over its control socket (framing, bounds, splice and skip,
 * the end of the input), and checked extraction through it when the helper breaks mid-stream.
 */
import { spawn } from "node:child_process"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Duplex, Readable } from "node:stream"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { DecompressError, extractTar, TarExtractError } from "../../../src/platform/archive/extractTar.js"
import { PipeControl, TarPipeError } from "../../../src/platform/archive/pipeControl.js"
import type { GateEntry, GateVerdict } from "../../../src/platform/archive/tarGate.js"
import { tarPipeUsable } from "../../../src/platform/archive/tarPipe.js"
import { fakeTarPipe } from "../../support/fakeTarPipe.js"

const HELPER = path.resolve("build/native/denia-init")

let work: string
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "denia-tarpipe-"))
})
afterEach(() => fs.rmSync(work, { recursive: true, force: true }))

/** Starts the helper with `input` as its stdin (a file) and a file as its stdout. */
const start = (input: Buffer) => {
  fs.writeFileSync(path.join(work, "in"), input)
  const inFd = fs.openSync(path.join(work, "in"), "r")
  const outFd = fs.openSync(path.join(work, "out"), "w")
  const child = spawn(HELPER, ["tar-pipe", "3"], { stdio: [inFd, outFd, "pipe", "pipe"] })
  fs.closeSync(inFd)
  fs.closeSync(outFd)
  let stderr = ""
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()))
  const done = new Promise<number | null>((resolve) => child.once("close", resolve))
  const socket = child.stdio[3]
  if (!(socket instanceof Duplex)) throw new Error("no control socket")
  return { child, socket, done, stderr: () => stderr, output: () => fs.readFileSync(path.join(work, "out")) }
}

const frame = (op: string, n: bigint | number, data?: Buffer) => {
  const head = Buffer.alloc(9)
  head.write(op, 0, "latin1")
  head.writeBigUInt64LE(BigInt(n), 1)
  return data === undefined ? head : Buffer.concat([head, data])
}

describe("the tar-pipe protocol", () => {
  it("reads, writes, splices and skips exactly as told, and stops short only at the end of the input", async () => {
    const input = randomBytes(3 * 1024 * 1024 + 123)
    const h = start(input)
    const control = new PipeControl(h.socket, h.stderr)
    expect((await control.read(512)).equals(input.subarray(0, 512))).toBe(true)
    await control.write(Buffer.from("hello"))
    expect(await control.move(2 * 1024 * 1024, true)).toBe(2 * 1024 * 1024)
    expect(await control.move(100, false)).toBe(100)
    const rest = input.length - 512 - 2 * 1024 * 1024 - 100
    expect(await control.move(rest + 5000, true)).toBe(rest)
    expect((await control.read(10)).length).toBe(0)
    await control.end()
    expect(await h.done).toBe(0)
    const expected = Buffer.concat([
      Buffer.from("hello"),
      input.subarray(512, 512 + 2 * 1024 * 1024),
      input.subarray(512 + 2 * 1024 * 1024 + 100)
    ])
    expect(h.output().equals(expected)).toBe(true)
  })

  const refusals: ReadonlyArray<readonly [string, Buffer, RegExp]> = [
    ["an unknown command", frame("X", 0), /unknown command/],
    ["a READ over 1 MiB", frame("R", 1024 * 1024 + 1), /READ over 1 MiB/],
    ["a WRITE over 1 MiB", frame("W", 1024 * 1024 + 1), /WRITE over 1 MiB/],
    ["a WRITE whose data is short", frame("W", 100, Buffer.alloc(10)), /WRITE data is short/],
    ["a length past 2^63", frame("S", 2n ** 64n - 1n), /length over 2\^63/],
    ["END with a length", frame("E", 1), /END with a length/],
    ["a command cut short", Buffer.from("R\x01"), /short command/],
    ["no END", Buffer.alloc(0), /closed before END/]
  ]
  for (const [what, bytes, message] of refusals) {
    it(`exits non-zero with one line on stderr on ${what}`, async () => {
      const h = start(Buffer.alloc(4096))
      h.socket.end(bytes)
      expect(await h.done).not.toBe(0)
      expect(h.stderr()).toMatch(message)
      expect(h.stderr().trim().split("\n")).toHaveLength(1)
    })
  }

  it("is recognised by its usage line; a binary without the mode is not", async () => {
    expect(await tarPipeUsable(HELPER)).toBe(true)
    expect(await tarPipeUsable(path.join(work, "missing"))).toBe(false)
    expect(await tarPipeUsable("/bin/true")).toBe(false)
  })
})

describe("extraction through a broken helper", () => {
  const acceptAll = (e: GateEntry): GateVerdict => ({ path: e.name.replace(/^\.\/?/, "").replace(/\/$/, ""), mode: e.mode, uid: 0, gid: 0 })
  const archive = () => {
    fs.mkdirSync(path.join(work, "src"))
    fs.writeFileSync(path.join(work, "src", "big"), randomBytes(2 * 1024 * 1024))
    return execFileSync("zstd", ["-q", "-c"], {
      input: execFileSync("tar", ["-c", "-f", "-", "-C", path.join(work, "src"), "."], { maxBuffer: 64 << 20 }),
      maxBuffer: 64 << 20
    })
  }

  for (const mode of ["crash", "bogus"] as const) {
    it(`fails with a TarPipeError when the helper ${mode === "crash" ? "dies mid-splice" : "breaks the framing"}`, async () => {
      const helper = fakeTarPipe(work, mode)
      const dest = path.join(work, "dest")
      fs.mkdirSync(dest)
      const e = await extractTar(Readable.from([archive()]), { compression: "zstd", policy: acceptAll, dest, sameOwner: false, helper })
        .catch((x: unknown) => x)
      expect(e).toBeInstanceOf(TarPipeError)
      expect(e).toBeInstanceOf(TarExtractError)
      expect((e as Error).message).toMatch(mode === "crash" ? /crashed in a splice/ : /answered 1099511627776/)
    })
  }

  it("reads a stored file itself, plain or compressed", async () => {
    const packed = archive()
    const plain = execFileSync("zstd", ["-d", "-q", "-c"], { input: packed, maxBuffer: 64 << 20 })
    for (const [compression, data] of [["none", plain], ["zstd", packed]] as const) {
      const file = path.join(work, `stored-${compression}`)
      fs.writeFileSync(file, data)
      const dest = path.join(work, `dest-${compression}`)
      fs.mkdirSync(dest)
      expect(await extractTar({ file }, { compression, policy: acceptAll, dest, sameOwner: false, helper: HELPER })).toBe(2)
      expect(fs.readFileSync(path.join(dest, "big")).equals(fs.readFileSync(path.join(work, "src", "big")))).toBe(true)
    }
  })

  it("reports corrupt compressed data as a DecompressError", async () => {
    const packed = archive()
    const bad = Buffer.from(packed)
    bad[bad.length - 6] = (bad[bad.length - 6] ?? 0) ^ 1
    const dest = path.join(work, "dest")
    fs.mkdirSync(dest)
    const e = await extractTar(Readable.from([bad]), { compression: "zstd", policy: acceptAll, dest, sameOwner: false, helper: HELPER })
      .catch((x: unknown) => x)
    expect(e).toBeInstanceOf(DecompressError)
  })
})
