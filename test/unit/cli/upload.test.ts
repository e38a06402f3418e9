/**
 * The push upload's relay (upload.ts, ADR 0811): a backlog the packer buffered before the upload began
 * and the bytes that follow reach the daemon whole and in order, chunked, with the token; progress ends
 * once with the total; a daemon that answers early stops the packer's stream; a failing packer fails
 * the upload.
 */
import { createHash, randomBytes } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { PassThrough } from "node:stream"
import { afterEach, describe, expect, it } from "vitest"
import { uploadStream } from "../../../src/cli/client/upload.js"

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
    const sent = uploadStream(url, "tok-123", body, (bytes, _ms, done) => shown.push({ bytes, done }), 0)
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
      const answer = await uploadStream(url, "t", body, () => undefined, 0)
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
    await expect(uploadStream(url, "t", body, () => undefined, 0)).rejects.toThrow("tar exited 2: cannot open")
  })
})
