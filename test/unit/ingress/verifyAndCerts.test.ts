import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CertStore } from "../../../src/ingress/certs.js"
import { verifyChallenge } from "../../../src/ingress/verify.js"
import { makeTempDir } from "../../support/tempDir.js"

let server: http.Server
let port = 0
const temp = makeTempDir("denia-ingress-unit-")

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const token = (req.url ?? "").split("/").pop()
    if (req.headers.host !== `localhost:${port}`) return res.writeHead(404).end()
    if (token === "good") return res.end("the-proof\n")
    if (token === "redirect") return res.writeHead(302, { location: "/.well-known/denia-challenge/good" }).end()
    if (token === "big") return res.end("x".repeat(4096))
    if (token === "wrong") return res.end("not-the-proof")
    if (token === "slow") return // never answers
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const a = server.address()
  port = typeof a === "object" && a !== null ? a.port : 0
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  temp.cleanup()
})

describe("verifyChallenge", () => {
  const opts = () => ({ httpPort: port, dnsServers: [], allowPrivate: true, timeoutMs: 1_000 })
  it("accepts the matching proof", async () => {
    expect(await verifyChallenge("localhost", "good", "the-proof", opts())).toBeUndefined()
  })
  it("does not follow redirects", async () => {
    expect(await verifyChallenge("localhost", "redirect", "the-proof", opts())).toContain("redirects are not followed")
  })
  it("caps the answer at 1 KiB", async () => {
    expect(await verifyChallenge("localhost", "big", "the-proof", opts())).toContain("larger than 1024 bytes")
  })
  it("rejects a wrong answer and a 404", async () => {
    expect(await verifyChallenge("localhost", "wrong", "the-proof", opts())).toContain("does not match")
    expect(await verifyChallenge("localhost", "missing", "the-proof", opts())).toContain("answered 404")
  })
  it("gives up on a server that never answers", async () => {
    expect(await verifyChallenge("localhost", "slow", "the-proof", opts())).toContain("no answer")
  })
  it("refuses loopback unless private addresses are allowed", async () => {
    expect(await verifyChallenge("localhost", "good", "the-proof", { ...opts(), allowPrivate: false })).toContain("internal addresses")
  })
})

describe("CertStore", () => {
  it("persists 0600/0700 and loads everything back (what HTTPS serves before accepting)", async () => {
    const dir = path.join(temp.dir, "certs")
    const work = path.join(temp.dir, "work")
    fs.mkdirSync(work)
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "k.pem",
        "-out",
        "c.pem",
        "-days",
        "3",
        "-subj",
        "/CN=a.example.test",
        "-addext",
        "subjectAltName=DNS:a.example.test"
      ],
      { cwd: work, stdio: "pipe" }
    )
    const key = fs.readFileSync(path.join(work, "k.pem"), "utf8")
    const cert = fs.readFileSync(path.join(work, "c.pem"), "utf8")
    const store = new CertStore(dir)
    await expect(store.install("bad.example.test", key, "not a certificate")).rejects.toThrow()
    expect(fs.existsSync(path.join(dir, "bad.example.test"))).toBe(false)
    const entry = await store.install("a.example.test", key, cert)
    expect(entry.notAfter.getTime()).toBeGreaterThan(Date.now())
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700)
    expect(fs.statSync(path.join(dir, "a.example.test")).mode & 0o777).toBe(0o700)
    expect(fs.statSync(path.join(dir, "a.example.test", "key.pem")).mode & 0o777).toBe(0o600)

    const reloaded = new CertStore(dir)
    expect(reloaded.has("a.example.test")).toBe(false)
    expect(reloaded.loadAll()).toEqual({ loaded: ["a.example.test"], failed: [] })
    expect(reloaded.context("a.example.test")).toBeDefined()
    expect(reloaded.context("b.example.test")).toBeUndefined()
    reloaded.remove("a.example.test")
    expect(fs.existsSync(path.join(dir, "a.example.test"))).toBe(false)
  })
})
