/**
 * Client IP trust (issue 13 item 6, ADR 0010): a local client cannot rotate
 * X-Forwarded-For to dodge the login throttle or forge the audited IP; the
 * ingress's control domain still reports the client it relayed; an
 * operator-listed `trusted_proxies` entry makes X-Forwarded-For count.
 */
import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { INGRESS_HOP_HEADER } from "../../../src/auth/ingressHop.js"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"

const CONTROL = "denia.example.test"

interface AuditItem {
  actor: string
  action: string
  outcome: string
  clientIp: string | null
}

const auditFor = async (d: TestDaemon, username: string): Promise<Array<AuditItem>> => {
  const r = await d.request("/v1/audit?limit=500")
  expect(r.status).toBe(200)
  const page = (await r.json()) as { items: Array<AuditItem> }
  return page.items.filter((i) => i.actor === `user:${username}` && i.action === "login")
}

const loginBody = (username: string) => JSON.stringify({ username, password: "not the password" })

/** A failed login straight to the API (the caller is a loopback peer). */
const directLogin = (d: TestDaemon, username: string, headers: Record<string, string>) =>
  d.request("/v1/auth/login", { method: "POST", token: null, json: { username, password: "not the password" }, headers }).then((r) =>
    r.status
  )

/** A failed login through the ingress's control domain, from the local address `from`. */
const ingressLogin = (d: TestDaemon, from: string, username: string, headers: Record<string, string> = {}) =>
  new Promise<number>((resolve, reject) => {
    const body = loginBody(username)
    const req = http.request(
      {
        host: "127.0.0.1",
        port: d.config.values.httpPort,
        localAddress: from,
        method: "POST",
        path: "/v1/auth/login",
        agent: false,
        headers: { host: CONTROL, "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers }
      },
      (res) => {
        res.resume()
        res.on("end", () => resolve(res.statusCode ?? 0))
      }
    )
    req.on("error", reject)
    req.end(body)
  })

describe("default: the socket peer", () => {
  let d: TestDaemon
  beforeAll(async () => {
    d = await startTestDaemon({ trusted_proxies: [], control_domain: CONTROL })
  })
  afterAll(() => d?.stop())

  it("rotating X-Forwarded-For from loopback does not evade the 5/min login limit, and the audit records the real peer", async () => {
    const statuses: Array<number> = []
    for (let i = 1; i <= 7; i++) statuses.push(await directLogin(d, "xff-rotator", { "x-forwarded-for": `203.0.113.${i}` }))
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429])
    const records = await auditFor(d, "xff-rotator")
    expect(records).toHaveLength(5)
    for (const r of records) expect(r.clientIp).toBe("127.0.0.1")
  })

  it("a guessed ingress hop header earns no trust", async () => {
    const statuses: Array<number> = []
    for (let i = 1; i <= 6; i++) {
      statuses.push(await directLogin(d, "hop-forger", { "x-forwarded-for": `198.51.100.${i}`, [INGRESS_HOP_HEADER]: "x".repeat(43) }))
    }
    // the bucket of 127.0.0.1 is already spent by the previous test
    expect(statuses.every((s) => s === 429)).toBe(true)
    expect(await auditFor(d, "hop-forger")).toHaveLength(0)
  })

  it("through the control domain the API records the client the ingress relayed, not what the client claims", async () => {
    expect(await ingressLogin(d, "127.0.0.7", "via-ingress", { "x-forwarded-for": "198.51.100.9", [INGRESS_HOP_HEADER]: "forged" })).toBe(
      401
    )
    const records = await auditFor(d, "via-ingress")
    expect(records.map((r) => r.clientIp)).toEqual(["127.0.0.7"])
  })

  it("rotating X-Forwarded-For through the control domain does not evade the limit either", async () => {
    const statuses: Array<number> = []
    for (let i = 1; i <= 6; i++) {
      statuses.push(await ingressLogin(d, "127.0.0.8", "ingress-rotator", { "x-forwarded-for": `203.0.113.${i}` }))
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
    // another client of the ingress has its own bucket
    expect(await ingressLogin(d, "127.0.0.9", "ingress-rotator")).toBe(401)
  })
})

describe("trusted_proxies", () => {
  let d: TestDaemon
  beforeAll(async () => {
    d = await startTestDaemon({ trusted_proxies: ["127.0.0.1", "10.0.0.0/8"] })
  })
  afterAll(() => d?.stop())

  it("X-Forwarded-For from a listed proxy names the client (trusted hops skipped)", async () => {
    expect(await directLogin(d, "behind-proxy", { "x-forwarded-for": "198.51.100.20, 10.1.2.3" })).toBe(401)
    const records = await auditFor(d, "behind-proxy")
    expect(records.map((r) => r.clientIp)).toEqual(["198.51.100.20"])
    // each forwarded client has its own bucket
    const statuses: Array<number> = []
    for (let i = 1; i <= 6; i++) statuses.push(await directLogin(d, "many-clients", { "x-forwarded-for": `203.0.113.${i}` }))
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401])
  })

  it("a peer that is not listed is not believed", async () => {
    const body = loginBody("unlisted-peer")
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(d.url)
      const req = http.request(
        {
          host: url.hostname,
          port: Number(url.port),
          localAddress: "127.0.0.10",
          method: "POST",
          path: "/v1/auth/login",
          agent: false,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-forwarded-for": "198.51.100.30" }
        },
        (res) => {
          res.resume()
          res.on("end", () => resolve(res.statusCode ?? 0))
        }
      )
      req.on("error", reject)
      req.end(body)
    })
    expect(status).toBe(401)
    expect((await auditFor(d, "unlisted-peer")).map((r) => r.clientIp)).toEqual(["127.0.0.10"])
  })
})
