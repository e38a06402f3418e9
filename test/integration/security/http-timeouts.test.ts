/**
 * Issue 13 item 5: the API listener closes slow-header and stalled-body
 * connections, caps concurrent connections, frees a stalled registry upload
 * session, and keeps idle-based timeouts from cutting streams that move.
 * Timeouts are configured small here; every wait is bounded and a connection
 * still open at the end of its bound fails the test.
 */
import * as fs from "node:fs"
import type * as net from "node:net"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runtimeServiceName } from "../../../src/deploy/runtimeNames.js"
import { ADMIN_TOKEN, startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { type Fixture, startFixture } from "../registry/support.js"
import { closedWithin, connect, portOf, rawRequest } from "./support.js"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("header and idle timeouts", () => {
  let f: Fixture
  let port: number
  beforeAll(async () => {
    f = await startFixture({ api_header_timeout_seconds: 1, api_idle_timeout_seconds: 1 })
    port = portOf(f.d.config.values.bindAddr)
    const shop = await f.project("shop")
    await f.service(shop, "web")
  }, 60_000)
  afterAll(() => f.d.stop())

  it("20 slow-header connections (a header byte every 200 ms, never idle) are closed", async () => {
    const sockets = await Promise.all(Array.from({ length: 20 }, () => connect(port)))
    const drips = sockets.map((s, i) => {
      s.write(`GET /v1/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-${i}: `)
      return setInterval(() => {
        if (!s.destroyed) s.write("a")
      }, 200)
    })
    try {
      const closed = await Promise.all(sockets.map((s) => closedWithin(s, 8_000)))
      expect(closed.filter((c) => !c).length).toBe(0)
    } finally {
      drips.forEach(clearInterval)
    }
  })

  it("20 slow-body connections (headers, a few bytes, then silence) are closed", async () => {
    const sockets = await Promise.all(Array.from({ length: 20 }, () => connect(port)))
    for (const s of sockets) {
      s.write("POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"user")
    }
    const closed = await Promise.all(sockets.map((s) => closedWithin(s, 8_000)))
    expect(closed.filter((c) => !c).length).toBe(0)
  })

  it("a stalled registry PATCH is cut and its upload session is free again", async () => {
    const start = await f.v2("/v2/shop/web/blobs/uploads/", { method: "POST" })
    expect(start.status).toBe(202)
    const location = start.headers.get("location") ?? ""
    const s = await connect(port)
    s.write(
      `PATCH ${location} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`
    )
    expect(await closedWithin(s, 8_000)).toBe(true)
    // the interrupted writer released the session: a new PATCH is not "being written by another request"
    let status = 0
    for (let i = 0; i < 40; i++) {
      const r = await f.v2(location, { method: "PATCH", body: "world", headers: { "content-type": "application/octet-stream" } })
      status = r.status
      await r.arrayBuffer()
      if (status === 202) break
      await sleep(100)
    }
    expect(status).toBe(202)
  })

  it("an SSE log stream longer than the idle timeout keeps working while data flows", async () => {
    const svc = (await (await f.d.request("/v1/services", {
      method: "POST",
      json: { projectId: await f.project("shop"), name: "talker", source: { type: "image", image: "busybox:1.36" }, port: 8080 }
    })).json()) as { id: string }
    const logFile = path.join(f.d.dataDir, "logs", "services", `${runtimeServiceName(svc.id)}.log`)
    fs.mkdirSync(path.dirname(logFile), { recursive: true })
    fs.writeFileSync(logFile, "")
    const controller = new AbortController()
    const response = await f.d.request(`/v1/services/${svc.id}/logs/stream?tail=1`, { signal: controller.signal })
    expect(response.status).toBe(200)
    const reader = response.body?.getReader()
    if (reader === undefined) throw new Error("no body")
    let seen = ""
    let n = 0
    // 3 s of lines every 300 ms: three times the 1 s idle timeout
    const writer = setInterval(() => fs.appendFileSync(logFile, `line ${n++}\n`), 300)
    const decoder = new TextDecoder()
    try {
      const deadline = Date.now() + 3_000
      while (Date.now() < deadline) {
        const { value, done } = await reader.read()
        if (done) break
        seen += decoder.decode(value)
      }
      expect(seen).toContain("line 0")
      expect(seen).toContain("line 8")
      // still open: one more line arrives
      const { done } = await reader.read()
      expect(done).toBe(false)
    } finally {
      clearInterval(writer)
      controller.abort()
    }
  })
})

describe("connection cap", () => {
  let d: TestDaemon
  let port: number
  beforeAll(async () => {
    d = await startTestDaemon({ api_max_connections: 4 })
    port = portOf(d.config.values.bindAddr)
  })
  afterAll(() => d.stop())

  /** A keep-alive connection on which the server has answered once (so it counts it). */
  const heldConnection = async (): Promise<net.Socket> => {
    const s = await connect(port)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no answer on a held connection")), 2_000)
      s.once("data", () => {
        clearTimeout(timer)
        resolve()
      })
      s.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    })
    return s
  }

  it("past api_max_connections a new connection is dropped; it is served again once others close", async () => {
    const held = [await heldConnection(), await heldConnection(), await heldConnection(), await heldConnection()]
    const extra = await connect(port)
    let answered = false
    extra.on("data", () => (answered = true))
    extra.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    expect(await closedWithin(extra, 3_000)).toBe(true)
    expect(answered).toBe(false)
    held.forEach((s) => s.destroy())
    let ok = false
    for (let i = 0; i < 40 && !ok; i++) {
      ok = await rawRequest({ port, method: "GET", path: "/healthz", timeoutMs: 1_000 }).then(
        (r) => r.status === 200,
        () => false
      )
      if (!ok) await sleep(50)
    }
    expect(ok).toBe(true)
  })
})
