/**
 * Issue 13 items 3, 4 and 8: the body gate on /v1 applies whatever the content
 * type, before parsing and authentication; JSON routes take only
 * application/json; blank and deeply nested bodies are 400s. Each request has a
 * client-side deadline: a hang fails the test.
 */
import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { errorOf, portOf, rawRequest } from "./support.js"

let d: TestDaemon
let port: number
const CONTROL = "denia.example.test"
beforeAll(async () => {
  d = await startTestDaemon({ api_body_max_kb: 16, control_domain: CONTROL })
  port = portOf(d.config.values.bindAddr)
})
afterAll(() => d.stop())

const login = (headers: Record<string, string>, body: string | Buffer, timeoutMs = 2_000) =>
  rawRequest({ port, method: "POST", path: "/v1/auth/login", headers, body, timeoutMs })

describe("body cap for every content type (item 3)", () => {
  for (
    const type of ["application/jsonx", "application/json-patch", "text/plain", "application/octet-stream", "application/merge-patch+json"]
  ) {
    it(`an oversized ${type} body on the public login route → 413 before it is read`, async () => {
      const r = await login({ "content-type": type }, "x".repeat(32 * 1024))
      expect(r.status).toBe(413)
      expect(errorOf(r).code).toBe("PAYLOAD_TOO_LARGE")
    })
  }

  it("a declared 100 MiB body is refused from the headers alone (the server answers without waiting for it)", async () => {
    const r = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/v1/auth/login",
        agent: false,
        headers: { "content-type": "application/jsonx", "content-length": String(100 * 1024 * 1024) }
      })
      const timer = setTimeout(() => {
        req.destroy()
        reject(new Error("no answer within 2 s: the body is being waited for"))
      }, 2_000)
      req.on("response", (res) => {
        clearTimeout(timer)
        res.resume()
        resolve(res.statusCode ?? 0)
        req.destroy()
      })
      req.on("error", () => {})
      req.write("{")
    })
    expect(r).toBe(413)
  })

  it("a chunked body of any type → 411, whatever the content type", async () => {
    for (const type of ["application/jsonx", "text/plain", "application/vnd.x+json"]) {
      const r = await rawRequest({
        port,
        method: "POST",
        path: "/v1/auth/login",
        headers: { "content-type": type, "transfer-encoding": "chunked" },
        body: `5\r\nhello\r\n0\r\n\r\n`,
        contentLength: false,
        timeoutMs: 2_000
      })
      expect(r.status, type).toBe(411)
      expect(errorOf(r).code).toBe("LENGTH_REQUIRED")
    }
  })

  it("the same cap holds through the ingress on control_domain", async () => {
    const r = await rawRequest({
      port: d.config.values.httpPort,
      method: "POST",
      path: "/v1/auth/login",
      headers: { host: CONTROL, "content-type": "application/jsonx" },
      body: "x".repeat(32 * 1024),
      timeoutMs: 2_000
    })
    expect(r.status).toBe(413)
    // an ordinary JSON body still gets through the ingress (its Content-Length is forwarded)
    const ok = await rawRequest({
      port: d.config.values.httpPort,
      method: "POST",
      path: "/v1/auth/login",
      headers: { host: CONTROL, "content-type": "application/json" },
      body: JSON.stringify({ username: "nobody", password: "wrong-password" }),
      timeoutMs: 5_000
    })
    expect(ok.status).toBe(401)
  })
})

describe("JSON routes accept application/json only (items 3 and 4)", () => {
  const body = JSON.stringify({ username: "nobody", password: "wrong-password" })
  for (const type of ["application/merge-patch+json", "application/vnd.x+json", "application/jsonx", "text/json", "application/x-json"]) {
    it(`${type} → 415 within 1 s`, async () => {
      const r = await login({ "content-type": type }, body, 1_000)
      expect(r.status).toBe(415)
      expect(errorOf(r).message).toMatch(/^content-type: /)
    })
  }
  it("a body without any Content-Type → 415", async () => {
    const r = await login({}, body, 1_000)
    expect(r.status).toBe(415)
  })
  it("application/json with parameters is accepted", async () => {
    const r = await rawRequest({
      port,
      method: "POST",
      path: "/v1/projects",
      headers: { authorization: `Bearer ${"a".repeat(64)}`, "content-type": "Application/JSON; charset=utf-8" },
      body: JSON.stringify({ name: "charset-ok" }),
      timeoutMs: 2_000
    })
    expect(r.status).toBe(201)
  })
  it("the wrong type is refused before authentication (no body read for anonymous callers)", async () => {
    const r = await rawRequest({
      port,
      method: "POST",
      path: "/v1/projects",
      headers: { "content-type": "application/vnd.x+json" },
      body: "{}",
      timeoutMs: 1_000
    })
    expect(r.status).toBe(415)
  })
})

describe("blank and deeply nested bodies (item 8)", () => {
  const routes = [
    { path: "/v1/auth/login", auth: false },
    { path: "/v1/projects", auth: true },
    { path: "/v1/services", auth: true }
  ]
  for (const route of routes) {
    const headers = { "content-type": "application/json", ...(route.auth ? { authorization: `Bearer ${"a".repeat(64)}` } : {}) }
    it(`${route.path}: a whitespace-only body → 400 naming the body`, async () => {
      const r = await rawRequest({ port, method: "POST", path: route.path, headers, body: " \n\t ", timeoutMs: 2_000 })
      expect(r.status).toBe(400)
      expect(errorOf(r)).toMatchObject({ code: "MALFORMED_JSON", message: expect.stringMatching(/^body: .*blank/) })
    })
    it(`${route.path}: JSON nested 5000 levels → 400 naming the depth limit`, async () => {
      const r = await rawRequest({
        port,
        method: "POST",
        path: route.path,
        headers,
        body: "[".repeat(5000) + "]".repeat(5000),
        timeoutMs: 2_000
      })
      expect(r.status).toBe(400)
      expect(errorOf(r).message).toMatch(/^body: JSON is nested deeper than 64 levels/)
    })
  }
  it("65 levels are refused, 64 pass the depth rule, and brackets inside strings do not count", async () => {
    const headers = { "content-type": "application/json", authorization: `Bearer ${"a".repeat(64)}` }
    const at = (levels: number) => "[".repeat(levels) + "]".repeat(levels)
    const over = await rawRequest({
      port,
      method: "POST",
      path: "/v1/projects",
      headers,
      body: `{"name":"deep","sharedEnv":${at(64)}}`,
      timeoutMs: 2_000
    })
    expect(errorOf(over).message).toMatch(/^body: JSON is nested deeper than 64 levels/)
    const within = await rawRequest({
      port,
      method: "POST",
      path: "/v1/projects",
      headers,
      body: `{"name":"deep","sharedEnv":${at(63)}}`,
      timeoutMs: 2_000
    })
    expect(within.status).toBe(400)
    expect(errorOf(within).message).toMatch(/^sharedEnv/)
    const strings = await rawRequest({
      port,
      method: "POST",
      path: "/v1/projects",
      headers,
      body: JSON.stringify({ name: "brackets", sharedEnv: { A: "[".repeat(200) + "\\\"{" } }),
      timeoutMs: 2_000
    })
    expect(strings.status).toBe(201)
  })
})
