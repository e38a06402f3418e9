/** How the daemon serves the built console next to the API. */
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { repoRoot, startTestDaemon, type TestDaemon } from "../../support/daemon.js"

const dist = path.join(repoRoot, "console", "dist")

describe("console serving", () => {
  let daemon: TestDaemon
  let asset: string
  beforeAll(async () => {
    if (!fs.existsSync(path.join(dist, "index.html"))) throw new Error("console/dist is missing: run `npm run build:console`")
    const js = fs.readdirSync(path.join(dist, "assets")).find((f) => f.endsWith(".js"))
    if (js === undefined) throw new Error("no JS asset in console/dist/assets")
    asset = `/assets/${js}`
    daemon = await startTestDaemon()
  })
  afterAll(async () => daemon?.stop())

  it("serves the app shell at / and at client-side routes, uncached, with a CSP", async () => {
    for (const p of ["/", "/projects", "/services/0190aaaa-0000-7000-8000-000000000000/edit", "/index.html"]) {
      const res = await fetch(`${daemon.url}${p}`)
      expect(res.status, p).toBe(200)
      expect(res.headers.get("content-type")).toMatch(/^text\/html/)
      expect(res.headers.get("cache-control")).toBe("no-cache")
      const csp = res.headers.get("content-security-policy") ?? ""
      expect(csp).toContain("default-src 'self'")
      expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/)
      expect(await res.text()).toContain("<div id=\"root\"></div>")
    }
  })

  it("serves hashed assets as immutable, gzipped when asked", async () => {
    const plain = await fetch(`${daemon.url}${asset}`, { headers: { "accept-encoding": "identity" } })
    expect(plain.status).toBe(200)
    expect(plain.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
    expect(plain.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
    expect(plain.headers.get("content-encoding")).toBeNull()
    const body = Buffer.from(await plain.arrayBuffer())
    expect(body.equals(fs.readFileSync(path.join(dist, asset)))).toBe(true)
    // fetch decodes gzip transparently; the header says it was compressed on the wire.
    const gz = await fetch(`${daemon.url}${asset}`, { headers: { "accept-encoding": "gzip" } })
    expect(gz.headers.get("content-encoding")).toBe("gzip")
    expect(Buffer.from(await gz.arrayBuffer()).equals(body)).toBe(true)
  })

  it("answers unknown assets and file-like paths with 404, never the shell", async () => {
    for (const p of ["/assets/missing-abc123.js", "/assets/", "/favicon.ico", "/deep/path/app.js"]) {
      const res = await fetch(`${daemon.url}${p}`)
      expect(res.status, p).toBe(404)
      expect(await res.text(), p).not.toContain("<div id=\"root\">")
    }
    // Raw paths with encoded dots and slashes (URL parsing leaves %2f alone): nothing outside assets/ is reachable.
    for (const p of ["/assets/..%2findex.html", "/assets/%2e%2e/%2e%2e/package.json", "/assets/..%2f..%2f..%2fpackage.json"]) {
      const res = await rawGet(daemon.url, p)
      expect(res.status, p).toBe(404)
      expect(res.body, p).not.toContain("<div id=\"root\">")
      expect(res.body, p).not.toContain("\"name\": \"denia\"")
    }
  })

  it("leaves the API's JSON 404 for unknown /v1 routes and keeps /healthz", async () => {
    for (const p of ["/v1/nope", "/v1", "/v1/projects/x/y/z", "/.well-known/denia-challenge/abc"]) {
      const res = await daemon.request(p)
      expect(res.status, p).toBe(404)
      expect(res.headers.get("content-type")).toMatch(/application\/json/)
      expect(await res.json()).toEqual({ error: expect.objectContaining({ code: "NOT_FOUND" }) })
    }
    const health = await fetch(`${daemon.url}/healthz`)
    expect(await health.json()).toEqual({ status: "ok" })
    const projects = await daemon.request("/v1/projects")
    expect(projects.status).toBe(200)
  })

  it("does not serve the shell for non-GET methods", async () => {
    const res = await fetch(`${daemon.url}/projects`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } })
    expect(res.status).toBe(404)
    expect(res.headers.get("content-type")).toMatch(/application\/json/)
  })
})

const rawGet = (base: string, rawPath: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const { hostname, port } = new URL(base)
    const req = http.request({ host: hostname, port: Number(port), path: rawPath, method: "GET" }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (d: string) => (body += d))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
    req.end()
  })
