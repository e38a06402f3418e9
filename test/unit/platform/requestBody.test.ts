/**
 * A request body taken over by `denia-init recv-pipe` (ADR 0904): Node stops reading the connection,
 * what its parser had buffered and exactly the rest of the declared length reach a kernel pipe (and a
 * copy file), nothing past the length is read, the head is told first; a client that leaves or stalls
 * is reported as such; bodies that cannot be taken are left to the stream path.
 */
import { execFileSync, spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { BodyCutShort, BodyStalled, type SplicedBody, takeRequestBody } from "../../../src/platform/archive/requestBody.js"

const HELPER = path.resolve("build/native/denia-init")
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex")
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Seen {
  readonly taken: SplicedBody | undefined
  readonly stored: Buffer
  readonly copy: Buffer | undefined
  /** bytes of the copy in the page cache once the helper is done */
  readonly copyResident: number | undefined
  readonly error: unknown
}

let work: string
let server: http.Server | undefined
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "denia-recvpipe-"))
})
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((r) => server?.close(r) ?? r(undefined))
  server = undefined
  fs.rmSync(work, { recursive: true, force: true })
})

/**
 * A server whose handler (after `delayMs`) takes the body, lets `cat` store what the pipe carries,
 * answers 200 with `connection: close`, and reports what it saw.
 */
const startServer = async (
  options: { delayMs?: number; idleMs?: number; copy?: boolean; helper?: string; before?: (req: http.IncomingMessage) => void } = {}
) => {
  let report: (s: Seen) => void = () => undefined
  const seen = new Promise<Seen>((r) => (report = r))
  server = http.createServer(async (req, res) => {
    options.before?.(req)
    if (options.delayMs !== undefined) await sleep(options.delayMs)
    const storedFile = path.join(work, "stored")
    const copyFile = path.join(work, "copy")
    const copyFd = options.copy === true ? fs.openSync(copyFile, "wx") : undefined
    let taken: SplicedBody | undefined
    let error: unknown
    try {
      taken = await takeRequestBody(req, { helper: options.helper ?? HELPER, ...(copyFd === undefined ? {} : { copyTo: copyFd }) })
      if (taken !== undefined) {
        const out = fs.openSync(storedFile, "w")
        const cat = spawn("cat", [], { stdio: [taken.fd, out, "ignore"] })
        const stored = new Promise((r) => cat.once("close", r))
        await taken.release()
        fs.closeSync(out)
        await stored
        await taken.done
      }
    } catch (e) {
      error = e
    }
    if (copyFd !== undefined) fs.closeSync(copyFd)
    // before anything reads the copy back
    const copyResident = copyFd === undefined ? undefined : residentBytes(copyFile)
    report({
      copyResident,
      taken,
      stored: fs.existsSync(storedFile) ? fs.readFileSync(storedFile) : Buffer.alloc(0),
      copy: copyFd === undefined ? undefined : fs.readFileSync(copyFile),
      error
    })
    if (!res.destroyed) {
      res.setHeader("connection", "close")
      res.end("done")
    }
  })
  if (options.idleMs !== undefined) server.timeout = options.idleMs
  await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r))
  return { port: (server.address() as net.AddressInfo).port, seen }
}

/** A raw client: writes `parts` (with pauses between them) and collects the answer until the server closes. */
const rawClient = (port: number, parts: ReadonlyArray<Buffer | number>, closeAfter = false) =>
  new Promise<string>((resolve) => {
    const socket = net.connect(port, "127.0.0.1")
    const answer: Array<Buffer> = []
    socket.on("data", (c: Buffer) => answer.push(c))
    socket.on("error", () => undefined)
    socket.on("close", () => resolve(Buffer.concat(answer).toString()))
    socket.once("connect", async () => {
      for (const p of parts) {
        if (typeof p === "number") await sleep(p)
        else if (!socket.destroyed) socket.write(p)
      }
      if (closeAfter) socket.destroy()
    })
  })

/** Whether files in `dir` can be opened with O_DIRECT. */
const takesDirectIo = (dir: string) => {
  const probe = path.join(dir, "direct-probe")
  try {
    fs.closeSync(fs.openSync(probe, fs.constants.O_CREAT | fs.constants.O_WRONLY | fs.constants.O_DIRECT))
    return true
  } catch {
    return false
  } finally {
    fs.rmSync(probe, { force: true })
  }
}

/** Bytes of `file` in the page cache (util-linux fincore). */
const residentBytes = (file: string) =>
  Number(execFileSync("fincore", ["--bytes", "--noheadings", "--output", "RES", file]).toString().trim())

const head = (length: number, extra = "") => Buffer.from(`PUT /x HTTP/1.1\r\nhost: t\r\ncontent-length: ${length}\r\n${extra}\r\n`)

describe("takeRequestBody (denia-init recv-pipe)", () => {
  it("moves what Node buffered and exactly the declared rest into the pipe, and nothing after it", async () => {
    const body = randomBytes(6 * 1024 * 1024 + 11)
    const { port, seen } = await startServer()
    const answer = rawClient(port, [
      Buffer.concat([head(body.length), body.subarray(0, 70_000)]),
      20,
      body.subarray(70_000, 3_000_000),
      20,
      // a pipelined request right behind the body: not part of it, never read as part of it
      Buffer.concat([body.subarray(3_000_000), Buffer.from("GET /next HTTP/1.1\r\nhost: t\r\n\r\n")])
    ])
    const s = await seen
    expect(s.error).toBeUndefined()
    expect(s.taken?.length).toBe(body.length)
    expect(s.taken?.head).toEqual(body.subarray(0, 4))
    expect(s.stored.length).toBe(body.length)
    expect(sha(s.stored)).toBe(sha(body))
    const text = await answer
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(text.toLowerCase()).toContain("connection: close")
    // one answer: the pipelined request was never parsed
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1)
  })

  it("takes a body whose bytes all come after the head, and one Node had buffered a lot of", async () => {
    const body = randomBytes(2 * 1024 * 1024)
    const first = await startServer()
    void rawClient(first.port, [head(body.length), 50, body])
    const a = await first.seen
    expect(a.error).toBeUndefined()
    expect(sha(a.stored)).toBe(sha(body))
    server?.closeAllConnections()
    await new Promise((r) => server?.close(r))
    // the handler waits: Node's parser fills the request's buffer and pauses the socket itself first
    const second = await startServer({ delayMs: 200 })
    void rawClient(second.port, [Buffer.concat([head(body.length), body])])
    const b = await second.seen
    expect(b.error).toBeUndefined()
    expect(b.taken?.head).toEqual(body.subarray(0, 4))
    expect(sha(b.stored)).toBe(sha(body))
  })

  it("tells the whole head of a body shorter than 4 bytes", async () => {
    const { port, seen } = await startServer()
    void rawClient(port, [head(2), 30, Buffer.from("ab")])
    const s = await seen
    expect(s.error).toBeUndefined()
    expect(s.taken?.head.toString()).toBe("ab")
    expect(s.stored.toString()).toBe("ab")
  })

  it("writes the same bytes into the copy file", async () => {
    const body = randomBytes(5 * 1024 * 1024 + 3)
    const { port, seen } = await startServer({ copy: true })
    void rawClient(port, [Buffer.concat([head(body.length), body.subarray(0, 1000)]), 20, body.subarray(1000)])
    const s = await seen
    expect(s.error).toBeUndefined()
    expect(sha(s.stored)).toBe(sha(body))
    expect(s.copy === undefined ? "" : sha(s.copy)).toBe(sha(body))
    // where the file system takes O_DIRECT the copy went past the page cache: at most its tail (less
    // than the helper's 2 MiB buffer) is resident (copysink.c, ADR 0821)
    if (takesDirectIo(work)) expect(s.copyResident).toBeLessThanOrEqual(2 * 1024 * 1024)
  })

  it("reports a client that closes before the declared length as cut short", async () => {
    const { port, seen } = await startServer()
    void rawClient(port, [Buffer.concat([head(4_000_000), randomBytes(100_000)]), 50, randomBytes(500_000), 50], true)
    const s = await seen
    expect(s.error).toBeInstanceOf(BodyCutShort)
    expect((s.error as Error).message).toMatch(/closed the connection after/)
  })

  it("reports a client that stalls for the idle timeout, which the helper applies instead of Node", async () => {
    const { port, seen } = await startServer({ idleMs: 300 })
    const t = performance.now()
    void rawClient(port, [Buffer.concat([head(1_000_000), randomBytes(10_000)]), 3000])
    const s = await seen
    expect(s.error).toBeInstanceOf(BodyStalled)
    // the helper gave up, not a wait for the client's 3 s
    expect(performance.now() - t).toBeLessThan(2500)
  })

  it("leaves chunked bodies, bodies being read, and hosts without the helper mode to the stream path", async () => {
    const chunked = await startServer()
    void rawClient(chunked.port, [Buffer.from("PUT /x HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")])
    expect((await chunked.seen).taken).toBeUndefined()
    server?.closeAllConnections()
    await new Promise((r) => server?.close(r))
    const reading = await startServer({ before: (req) => req.on("data", () => undefined) })
    void rawClient(reading.port, [Buffer.concat([head(3), Buffer.from("abc")])])
    expect((await reading.seen).taken).toBeUndefined()
    server?.closeAllConnections()
    await new Promise((r) => server?.close(r))
    const old = await startServer({ helper: "/bin/true" })
    void rawClient(old.port, [Buffer.concat([head(3), Buffer.from("abc")])])
    const o = await old.seen
    expect(o.taken).toBeUndefined()
    expect(o.error).toBeUndefined()
  })
})
