/**
 * `denia-init send-pipe <fd>` (ADR 0903): copies its stdin (a pipe, or a file) into a socket the daemon
 * owns — non-blocking, as Node's sockets are — until stdin ends; a slow reader is waited for, a reader
 * that leaves ends it with an error, and the socket is left open for the daemon.
 */
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { helperHasMode } from "../../../src/platform/archive/helperModes.js"
import { openOsPipe } from "../../../src/platform/archive/osPipe.js"

const HELPER = path.resolve("build/native/denia-init")

let work: string
let server: net.Server
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "denia-sendpipe-"))
})
afterEach(() => {
  server?.close()
  fs.rmSync(work, { recursive: true, force: true })
})

/** A connected pair over loopback TCP: `inner` is the daemon's side (given to the helper), `outer` the client's. */
const connected = () =>
  new Promise<{ inner: net.Socket; outer: net.Socket }>((resolve) => {
    server = net.createServer((inner) => resolve({ inner, outer }))
    let outer: net.Socket
    server.listen(0, "127.0.0.1", () => {
      outer = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1")
    })
  })

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex")

/** Runs the helper with `stdin` (fd) and `socket` as fd 3; resolves with its exit code and stderr. */
const sendPipe = (stdin: number, socket: net.Socket, idleMs?: number) => {
  const child = spawn(HELPER, ["send-pipe", "3", ...(idleMs === undefined ? [] : [String(idleMs)])], {
    stdio: [stdin, "ignore", "pipe", socket]
  })
  let stderr = ""
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()))
  return new Promise<{ code: number | null; stderr: string }>((resolve) => child.once("close", (code) => resolve({ code, stderr })))
}

describe("denia-init send-pipe", () => {
  it("is recognised by its usage line", async () => {
    expect(await helperHasMode(HELPER, "send-pipe")).toBe(true)
    expect(await helperHasMode("/bin/true", "send-pipe")).toBe(false)
  })

  it("splices a pipe into the socket, waiting for a slow reader, and leaves the socket open", async () => {
    const data = randomBytes(24 * 1024 * 1024)
    fs.writeFileSync(path.join(work, "in"), data)
    const p = await openOsPipe()
    if (p === undefined) throw new Error("no pipe")
    const cat = spawn("cat", [path.join(work, "in")], { stdio: ["ignore", p.write, "ignore"] })
    const catDone = new Promise((r) => cat.once("close", r))
    const { inner, outer } = await connected()
    const done = sendPipe(p.read, inner)
    await p.close()
    // the reader holds off, so the send buffer fills and the helper has to wait for room
    outer.pause()
    await new Promise((r) => setTimeout(r, 300))
    const chunks: Array<Buffer> = []
    outer.on("data", (c: Buffer) => chunks.push(c))
    outer.resume()
    const result = await done
    await catDone
    expect(result).toEqual({ code: 0, stderr: "" })
    // the helper did not close the daemon's socket: it still writes, and the client gets it after the data
    inner.end("TRAILER")
    await new Promise((r) => outer.once("end", r))
    const got = Buffer.concat(chunks)
    expect(got.length).toBe(data.length + 7)
    expect(sha(got.subarray(0, data.length))).toBe(sha(data))
    expect(got.subarray(data.length).toString()).toBe("TRAILER")
  })

  it("copies a file (no splice from it to a socket needed) as well", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17)
    fs.writeFileSync(path.join(work, "in"), data)
    const fd = fs.openSync(path.join(work, "in"), "r")
    const { inner, outer } = await connected()
    const chunks: Array<Buffer> = []
    outer.on("data", (c: Buffer) => chunks.push(c))
    const result = await sendPipe(fd, inner)
    fs.closeSync(fd)
    inner.end()
    await new Promise((r) => outer.once("end", r))
    expect(result.code).toBe(0)
    expect(sha(Buffer.concat(chunks))).toBe(sha(data))
  })

  it("fails with one line on stderr when the reader goes away", async () => {
    const p = await openOsPipe()
    if (p === undefined) throw new Error("no pipe")
    const yes = spawn("sh", ["-c", "exec yes denia"], { stdio: ["ignore", p.write, "ignore"] })
    const { inner, outer } = await connected()
    const done = sendPipe(p.read, inner)
    await p.close()
    outer.destroy()
    const result = await done
    yes.kill("SIGKILL")
    inner.destroy()
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^send-pipe: (sending|waiting for the output): /)
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
  })

  it("gives up on a client that takes nothing for its idle timeout (exit 4)", async () => {
    const p = await openOsPipe()
    if (p === undefined) throw new Error("no pipe")
    const yes = spawn("sh", ["-c", "exec yes denia"], { stdio: ["ignore", p.write, "ignore"] })
    const { inner, outer } = await connected()
    // the client never reads: the send buffer fills and stays full
    outer.pause()
    const done = sendPipe(p.read, inner, 300)
    await p.close()
    const result = await done
    yes.kill("SIGKILL")
    inner.destroy()
    outer.destroy()
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/^send-pipe: waiting for the output: Connection timed out/)
  })

  it("refuses a missing or bad descriptor argument", async () => {
    const usage = spawn(HELPER, ["send-pipe"], { stdio: ["ignore", "ignore", "pipe"] })
    let text = ""
    usage.stderr?.on("data", (c: Buffer) => (text += c.toString()))
    expect(await new Promise((r) => usage.once("close", r))).toBe(2)
    expect(text).toMatch(/^usage: denia-init send-pipe <fd>/)
    const bad = spawn(HELPER, ["send-pipe", "1"], { stdio: ["ignore", "ignore", "pipe"] })
    let badText = ""
    bad.stderr?.on("data", (c: Buffer) => (badText += c.toString()))
    expect(await new Promise((r) => bad.once("close", r))).toBe(1)
    expect(badText).toMatch(/the output fd is not a number >= 3/)
  })
})
