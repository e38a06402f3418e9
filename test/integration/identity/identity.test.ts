import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sqliteLayer } from "../../../src/db/Database.js"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { createUser, login, nextIp, PASSWORD } from "../../support/identity.js"

let d: TestDaemon
const seenBodies: Array<string> = []
const call = async (p: string, init: Parameters<TestDaemon["request"]>[1] = {}) => {
  const r = await d.request(p, {
    ...init,
    headers: { "x-forwarded-for": nextIp(), ...(init.headers as Record<string, string> | undefined) }
  })
  const text = await r.text()
  seenBodies.push(text)
  return { status: r.status, headers: r.headers, text, json: <A>() => JSON.parse(text) as A }
}

beforeAll(async () => {
  d = await startTestDaemon({ session_ttl_hours: 1 })
})
afterAll(() => d.stop())

describe("bootstrap", () => {
  it("needs the admin token, works once, then 409", async () => {
    expect((await call("/v1/bootstrap", { method: "POST", token: null, json: { username: "root", password: PASSWORD } })).status).toBe(401)
    const short = await call("/v1/bootstrap", { method: "POST", json: { username: "root", password: "short" } })
    expect(short.status).toBe(400)
    expect(short.text).toMatch(/password.*at least 12/)
    const first = await call("/v1/bootstrap", { method: "POST", json: { username: "root", password: PASSWORD } })
    expect(first.status).toBe(201)
    expect(first.json<{ superAdmin: boolean }>().superAdmin).toBe(true)
    expect((await call("/v1/bootstrap", { method: "POST", json: { username: "second", password: PASSWORD } })).status).toBe(409)
  })
})

describe("sessions and tokens", () => {
  it("login → session; /v1/me; logout revokes it", async () => {
    const session = await login(d, "root")
    expect(session.token).toMatch(/^dns_/)
    const ttl = Date.parse(session.expiresAt) - Date.now()
    expect(ttl).toBeGreaterThan(50 * 60_000)
    expect(ttl).toBeLessThanOrEqual(60 * 60_000)
    const me = await call("/v1/me", { token: session.token })
    expect(me.json<{ user: { username: string }; superAdmin: boolean; credential: string }>()).toMatchObject({
      user: { username: "root" },
      superAdmin: true,
      credential: "session"
    })
    expect((await call("/v1/auth/logout", { method: "POST", token: session.token })).status).toBe(204)
    expect((await call("/v1/me", { token: session.token })).status).toBe(401)
  })

  it("wrong password and unknown user both get the same 401", async () => {
    const a = await call("/v1/auth/login", { method: "POST", token: null, json: { username: "root", password: "wrong password!!" } })
    const b = await call("/v1/auth/login", { method: "POST", token: null, json: { username: "nobody", password: "wrong password!!" } })
    expect(a.status).toBe(401)
    expect(b.status).toBe(401)
    expect(a.text).toBe(b.text)
  })

  it("an expired session is refused", async () => {
    const session = await login(d, "root")
    await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql`UPDATE credentials SET expires_at = '2000-01-01T00:00:00.000Z' WHERE kind = 'session'`
        ).pipe(
          Effect.provide(Layer.orDie(sqliteLayer(d.config.paths.sqlite)))
        )
      )
    )
    expect((await call("/v1/me", { token: session.token })).status).toBe(401)
  })

  it("API tokens: minted once, listed without the secret, revoked on the next request", async () => {
    const session = await login(d, "root")
    const minted = await call("/v1/api-tokens", { method: "POST", token: session.token, json: { name: "ci" } })
    expect(minted.status).toBe(201)
    const token = minted.json<{ id: string; token: string }>()
    expect(token.token).toMatch(/^dnt_/)
    expect((await call("/v1/me", { token: token.token })).json<{ credential: string }>().credential).toBe("apiToken")
    const list = await call("/v1/api-tokens", { token: session.token })
    expect(list.text).not.toContain(token.token)
    expect(list.json<{ items: Array<{ id: string; name: string }> }>().items).toEqual([
      expect.objectContaining({ id: token.id, name: "ci" })
    ])
    // someone else cannot revoke it
    await createUser(d, "mallory")
    const mallory = await login(d, "mallory")
    expect((await call(`/v1/api-tokens/${token.id}`, { method: "DELETE", token: mallory.token })).status).toBe(404)
    expect((await call(`/v1/api-tokens/${token.id}`, { method: "DELETE", token: session.token })).status).toBe(204)
    expect((await call("/v1/me", { token: token.token })).status).toBe(401)
  })

  it("users: super-admin CRUD, password rules, duplicate → 409, non-super-admin → 403", async () => {
    const u = await createUser(d, "alice")
    expect((await call("/v1/users", { method: "POST", json: { username: "alice", password: PASSWORD } })).status).toBe(409)
    expect((await call("/v1/users", { method: "POST", json: { username: "Bad Name", password: PASSWORD } })).text).toMatch(/username/)
    const alice = await login(d, "alice")
    expect((await call("/v1/users", { token: alice.token })).status).toBe(403)
    const changed = await call(`/v1/users/${u.id}`, { method: "PATCH", json: { password: "a brand new password" } })
    expect(changed.status).toBe(200)
    expect((await call("/v1/auth/login", { method: "POST", token: null, json: { username: "alice", password: PASSWORD } })).status).toBe(
      401
    )
    await login(d, "alice", "a brand new password")
    expect((await call(`/v1/users/${u.id}`, { method: "DELETE" })).status).toBe(204)
    expect((await call("/v1/me", { token: alice.token })).status).toBe(401)
  })
})

describe("throttling", () => {
  it("login: 5 per minute per client IP, 429 with Retry-After; other IPs unaffected", async () => {
    const ip = "203.0.113.7"
    const attempt = (forIp: string, password = "wrong password!!") =>
      call("/v1/auth/login", { method: "POST", token: null, json: { username: "root", password }, headers: { "x-forwarded-for": forIp } })
    for (let i = 0; i < 4; i++) expect((await attempt(ip)).status).toBe(401)
    // a successful login from another IP does not reset this IP's counter
    expect((await attempt("203.0.113.8", PASSWORD)).status).toBe(200)
    expect((await attempt(ip)).status).toBe(401)
    const limited = await attempt(ip, PASSWORD)
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0)
    expect(limited.json<{ error: { code: string } }>().error.code).toBe("RATE_LIMITED")
    expect((await attempt("203.0.113.9", PASSWORD)).status).toBe(200)
  })

  it("admin token: 300 per minute per IP", async () => {
    const ip = "203.0.113.50"
    let last = 0
    for (let i = 0; i < 301; i++) last = (await d.request("/v1/projects", { headers: { "x-forwarded-for": ip } })).status
    expect(last).toBe(429)
    expect((await d.request("/v1/projects", { headers: { "x-forwarded-for": "203.0.113.51" } })).status).toBe(200)
  })
})

describe("audit", () => {
  it("records logins, token mint/revoke and user changes, newest first, paginated, super-admin only", async () => {
    const page1 = await call("/v1/audit?limit=3")
    expect(page1.status).toBe(200)
    const p1 = page1.json<{ items: Array<{ id: string; action: string }>; nextCursor?: string }>()
    expect(p1.items).toHaveLength(3)
    expect(p1.nextCursor).toBeDefined()
    const all = (await call("/v1/audit?limit=500")).json<{ items: Array<{ action: string; outcome: string }> }>().items
    const actions = new Set(all.map((a) => `${a.action}:${a.outcome}`))
    for (
      const a of [
        "bootstrap:ok",
        "login:ok",
        "login:failed",
        "logout:ok",
        "token.mint:ok",
        "token.revoke:ok",
        "user.create:ok",
        "user.update:ok",
        "user.delete:ok"
      ]
    ) {
      expect(actions).toContain(a)
    }
    const page2 = (await call(`/v1/audit?limit=3&cursor=${p1.nextCursor}`)).json<{ items: Array<{ id: string }> }>()
    expect((page2.items[0]?.id ?? "") < (p1.items[2]?.id ?? "")).toBe(true)
    expect((await call("/v1/audit?limit=0")).status).toBe(400)
  })
})

describe("secrets never leak", () => {
  it("no password, session or API token appears in API responses, the audit log, the database or the data dir", async () => {
    const session = await login(d, "root")
    const minted = (await call("/v1/api-tokens", { method: "POST", token: session.token, json: { name: "leakcheck" } })).json<
      { token: string }
    >()
    const secrets = [PASSWORD, "a brand new password", "wrong password!!", session.token, minted.token]
    // responses other than the ones that hand out a token
    const others = seenBodies.filter((b) => !b.includes("\"token\""))
    for (const s of secrets) for (const b of others) expect(b).not.toContain(s)
    const audit = (await call("/v1/audit?limit=500")).text
    for (const s of secrets) expect(audit).not.toContain(s)
    const files: Array<string> = []
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name)
        if (e.isDirectory()) walk(p)
        else files.push(p)
      }
    }
    walk(d.dataDir)
    expect(files.some((f) => f.endsWith("denia.sqlite"))).toBe(true)
    for (const f of files) {
      const content = fs.readFileSync(f).toString("latin1")
      for (const s of secrets) expect(content.includes(s), `${s.slice(0, 6)}… in ${f}`).toBe(false)
    }
  })
})
