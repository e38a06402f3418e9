/**
 * Issue 13 item 11: /v1 and /v2 answers are never sniffed or cached (login and
 * token responses above all); the console shell carries the browser isolation
 * headers and a CSP without inline styles; hashed assets stay long-cached.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { repoRoot, startTestDaemon, type TestDaemon } from "../../support/daemon.js"

let d: TestDaemon
beforeAll(async () => {
  d = await startTestDaemon()
})
afterAll(() => d.stop())

const expectApiHeaders = (r: Response, what: string) => {
  expect(r.headers.get("x-content-type-options"), what).toBe("nosniff")
  expect(r.headers.get("cache-control"), what).toBe("no-store")
}

describe("/v1 and /v2 responses", () => {
  it("login, session and token responses are no-store and nosniff", async () => {
    const boot = await d.request("/v1/bootstrap", { method: "POST", json: { username: "admin", password: "admin-password-long" } })
    expect(boot.status).toBe(201)
    expectApiHeaders(boot, "bootstrap")
    const login = await d.request("/v1/auth/login", {
      method: "POST",
      token: null,
      json: { username: "admin", password: "admin-password-long" }
    })
    expect(login.status).toBe(200)
    expectApiHeaders(login, "login")
    const session = ((await login.json()) as { token: string }).token
    const minted = await d.request("/v1/api-tokens", { method: "POST", token: session, json: { name: "ci" } })
    expect(minted.status).toBe(201)
    expectApiHeaders(minted, "api token")
    const failed = await d.request("/v1/auth/login", {
      method: "POST",
      token: null,
      json: { username: "admin", password: "wrong-password-x" }
    })
    expect(failed.status).toBe(401)
    expectApiHeaders(failed, "failed login")
  })

  it("reads, errors and the OpenAPI document carry them too", async () => {
    for (const [p, status] of [["/v1/projects", 200], ["/v1/nope", 404], ["/v1/openapi.json", 200]] as const) {
      const r = await d.request(p)
      expect(r.status, p).toBe(status)
      expectApiHeaders(r, p)
    }
    const unauth = await d.request("/v1/projects", { token: null })
    expect(unauth.status).toBe(401)
    expectApiHeaders(unauth, "401")
    const tooBig = await d.request("/v1/projects", {
      method: "POST",
      body: "x".repeat(2 * 1024 * 1024),
      headers: { "content-type": "application/json" }
    })
    expect(tooBig.status).toBe(413)
    expectApiHeaders(tooBig, "413")
  })

  it("the hosted registry answers carry them", async () => {
    for (const [token, status] of [[{}, 200], [{ token: null }, 401]] as const) {
      const r = await d.request("/v2/", token)
      expect(r.status).toBe(status)
      expectApiHeaders(r, `/v2/ ${status}`)
    }
  })
})

describe("console shell", () => {
  const dist = path.join(repoRoot, "console", "dist")
  beforeAll(() => {
    if (!fs.existsSync(path.join(dist, "index.html"))) throw new Error("console/dist is missing: run `npm run build:console`")
  })

  it("has Permissions-Policy, COOP, CORP and a CSP without inline styles", async () => {
    const r = await fetch(`${d.url}/projects`)
    expect(r.status).toBe(200)
    expect(r.headers.get("permissions-policy")).toMatch(/camera=\(\)/)
    expect(r.headers.get("permissions-policy")).toMatch(/geolocation=\(\)/)
    expect(r.headers.get("cross-origin-opener-policy")).toBe("same-origin")
    expect(r.headers.get("cross-origin-resource-policy")).toBe("same-origin")
    const csp = r.headers.get("content-security-policy") ?? ""
    expect(csp).toContain("style-src 'self'")
    expect(csp).not.toContain("unsafe-inline")
    expect(r.headers.get("cache-control")).toBe("no-cache")
    // the shell itself needs no inline style for that CSP to hold
    expect(await r.text()).not.toMatch(/<style|style="/)
  })

  it("hashed assets keep their long cache headers", async () => {
    const js = fs.readdirSync(path.join(dist, "assets")).find((f) => f.endsWith(".js"))
    const r = await fetch(`${d.url}/assets/${js ?? ""}`)
    expect(r.status).toBe(200)
    expect(r.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
    expect(r.headers.get("cross-origin-resource-policy")).toBe("same-origin")
    await r.arrayBuffer()
  })
})
