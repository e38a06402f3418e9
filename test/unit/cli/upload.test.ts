/**
 * The push upload's relay (upload.ts, ADR 0811): a backlog the packer buffered before the upload began
 * and the bytes that follow reach the daemon whole and in order, chunked, with the token; progress ends
 * once with the total; a daemon that answers early stops the packer's stream; a failing packer fails
 * the upload. A plain tar of known length (ADR 0820) goes with `Content-Length` and its media type; when
 * the stream is longer or shorter than that, the daemon never receives a whole body and the upload fails
 * with PackedLengthChanged; sendContext then sends the compressed pack, chunked.
 */
import { createHash, randomBytes } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { PassThrough } from "node:stream"
import { afterEach, describe, expect, it } from "vitest"
import { PackedLengthChanged, sendContext, uploadReporter, uploadStream } from "../../../src/cli/client/upload.js"

let server: http.Server | undefined
afterEach(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())))
  server = undefined
})

const listen = async (handler: http.RequestListener): Promise<string> => {
  server = http.createServer(handler)
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/services/s/uploads?deploy=true`
}

describe("uploadStream", () => {
  it("sends the buffered backlog and what follows, whole and in order, chunked, with the token", async () => {
    const seen: { hash?: string; bytes?: number; headers?: http.IncomingHttpHeaders } = {}
    const url = await listen((req, res) => {
      const hash = createHash("sha256")
      let bytes = 0
      req.on("data", (c: Buffer) => {
        hash.update(c)
        bytes += c.length
      })
      req.on("end", () => {
        Object.assign(seen, { hash: hash.digest("hex"), bytes, headers: req.headers })
        res.writeHead(201, { "content-type": "application/json" }).end("{\"ok\":true}")
      })
    })
    const body = new PassThrough({ highWaterMark: 64 * 1024 * 1024 })
    const parts = Array.from({ length: 300 }, () => randomBytes(64 * 1024))
    const expected = createHash("sha256")
    for (const p of parts.slice(0, 200)) {
      expected.update(p)
      body.write(p)
    }
    const shown: Array<{ bytes: number; done: boolean }> = []
    const sent = uploadStream(url, "tok-123", { stream: body, format: "zstd" }, (bytes, _ms, done) => shown.push({ bytes, done }), 0)
    for (const p of parts.slice(200)) {
      expected.update(p)
      await new Promise<void>((resolve) => setImmediate(resolve))
      body.write(p)
    }
    body.end()
    const answer = await sent
    const total = parts.length * 64 * 1024
    expect(answer).toEqual({ status: 201, body: "{\"ok\":true}", bytes: total })
    expect(seen.bytes).toBe(total)
    expect(seen.hash).toBe(expected.digest("hex"))
    expect(seen.headers?.["authorization"]).toBe("Bearer tok-123")
    expect(seen.headers?.["transfer-encoding"]).toBe("chunked")
    expect(shown.filter((s) => s.done)).toEqual([{ bytes: total, done: true }])
    expect(shown.every((s, i) => i === 0 || s.bytes >= (shown[i - 1]?.bytes ?? 0))).toBe(true)
  })

  it("an early answer ends the upload with that answer and stops the packer's stream", async () => {
    const url = await listen((req, res) => {
      // the answer at once, the rest of the body read and dropped
      req.once("data", () => {
        res.writeHead(400, { "content-type": "application/json" })
        res.end("{\"error\":{\"message\":\"entry ../x leaves the context\"}}")
      })
      req.resume()
    })
    const body = new PassThrough({ highWaterMark: 64 * 1024 * 1024 })
    // a packer that never ends by itself
    const feed = setInterval(() => body.write(randomBytes(256 * 1024)), 1)
    try {
      const answer = await uploadStream(url, "t", { stream: body, format: "zstd" }, () => undefined, 0)
      expect(answer.status).toBe(400)
      expect(answer.body).toContain("leaves the context")
      await new Promise<void>((resolve) => (body.destroyed ? resolve() : body.once("close", () => resolve())))
      expect(body.destroyed).toBe(true)
    } finally {
      clearInterval(feed)
    }
  })

  it("a failing packer fails the upload with its error", async () => {
    const url = await listen((req, res) => {
      req.resume()
      req.on("end", () => res.end())
    })
    const body = new PassThrough()
    body.write(randomBytes(1024))
    setTimeout(() => body.destroy(new Error("tar exited 2: cannot open")), 20)
    await expect(uploadStream(url, "t", { stream: body, format: "zstd" }, () => undefined, 0)).rejects.toThrow(
      "tar exited 2: cannot open"
    )
  })

  /** A server that records each request's headers and body bytes, and whether its body ended. */
  const recording = () => {
    const seen: Array<{ headers: http.IncomingHttpHeaders; bytes: number; complete: boolean }> = []
    const handler: http.RequestListener = (req, res) => {
      const entry = { headers: req.headers, bytes: 0, complete: false }
      seen.push(entry)
      req.on("data", (c: Buffer) => (entry.bytes += c.length))
      req.on("end", () => {
        entry.complete = true
        res.writeHead(201, { "content-type": "application/json" }).end("{\"ok\":true}")
      })
      req.on("error", () => undefined)
    }
    return { seen, handler }
  }

  const streamOf = (parts: ReadonlyArray<Buffer>, pauseMs = 0) => {
    const body = new PassThrough()
    void (async () => {
      for (const p of parts) {
        body.write(p)
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs))
      }
      body.end()
    })()
    return body
  }

  it("a plain tar of known length goes with Content-Length and application/x-tar", async () => {
    const { handler, seen } = recording()
    const url = await listen(handler)
    const parts = Array.from({ length: 20 }, () => randomBytes(10240))
    const answer = await uploadStream(url, "t", { stream: streamOf(parts, 1), format: "tar", length: 20 * 10240 }, () => undefined, 0)
    expect(answer.status).toBe(201)
    expect(answer.bytes).toBe(20 * 10240)
    expect(seen[0]?.headers["content-length"]).toBe(String(20 * 10240))
    expect(seen[0]?.headers["content-type"]).toBe("application/x-tar")
    expect(seen[0]?.headers["transfer-encoding"]).toBeUndefined()
    expect(seen[0]?.complete).toBe(true)
  })

  it("a stream longer than its length fails with PackedLengthChanged and the body never completes", async () => {
    const { handler, seen } = recording()
    const url = await listen(handler)
    const parts = Array.from({ length: 6 }, () => randomBytes(10240))
    // exactly the length after five parts, then one more
    const sent = uploadStream(url, "t", { stream: streamOf(parts, 5), format: "tar", length: 5 * 10240 }, () => undefined, 0)
    await expect(sent).rejects.toBeInstanceOf(PackedLengthChanged)
    await new Promise((r) => setTimeout(r, 50))
    expect(seen.every((s) => !s.complete)).toBe(true)
    expect(seen.every((s) => s.bytes < 5 * 10240)).toBe(true)
  })

  it("a stream shorter than its length fails with PackedLengthChanged instead of waiting", async () => {
    const { handler, seen } = recording()
    const url = await listen(handler)
    const parts = Array.from({ length: 3 }, () => randomBytes(10240))
    await expect(uploadStream(url, "t", { stream: streamOf(parts), format: "tar", length: 4 * 10240 }, () => undefined, 0))
      .rejects.toThrow(/30720 bytes instead of the 40960 listed/)
    expect(seen.every((s) => !s.complete)).toBe(true)
  })

  it("sendContext sends the compressed pack, chunked, after a length change", async () => {
    const { handler, seen } = recording()
    const url = await listen(handler)
    const notes: Array<string> = []
    const silent = () => uploadReporter(false, 0, { isTTY: false, write: () => true })
    const answer = await sendContext(
      url,
      "t",
      {
        packed: Promise.resolve({ stream: streamOf([randomBytes(10240)]), format: "tar", length: 2 * 10240 }),
        onPacked: () => undefined,
        packCompressed: async () => ({ stream: streamOf([randomBytes(777)]), format: "zstd" })
      },
      silent,
      (m) => notes.push(m)
    )
    expect(answer.status).toBe(201)
    expect(notes).toEqual([expect.stringContaining("the context changed while it was packed")])
    const done = seen.filter((s) => s.complete)
    expect(done).toHaveLength(1)
    expect(done[0]?.headers["transfer-encoding"]).toBe("chunked")
    expect(done[0]?.bytes).toBe(777)
  })
})
