/**
 * Password change revokes credentials (issue 13 item 7, ADR 0010): sessions
 * always, API tokens unless `keepTokens: true`; the credential making a
 * self-change survives; audited as `user.password_changed` with counts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { createUser, ensureBootstrap, json, login, nextIp, PASSWORD } from "../../support/identity.js"

const NEW_PASSWORD = "a different long passphrase"
let d: TestDaemon

const status = (token: string) => d.request("/v1/me", { token, headers: { "x-forwarded-for": nextIp() } }).then((r) => r.status)

const mintToken = async (session: string, name: string) => {
  const r = await d.request("/v1/api-tokens", { method: "POST", token: session, json: { name }, headers: { "x-forwarded-for": nextIp() } })
  expect(r.status).toBe(201)
  return (await json<{ token: string }>(r)).token
}

const patchUser = (id: string, body: unknown, token?: string) =>
  d.request(`/v1/users/${id}`, {
    method: "PATCH",
    json: body,
    headers: { "x-forwarded-for": nextIp() },
    ...(token === undefined ? {} : { token })
  })

const passwordAudit = async (username: string) => {
  const page = await json<{ items: Array<{ action: string; target: string | null; details: Record<string, unknown> | null }> }>(
    await d.request("/v1/audit?limit=500")
  )
  return page.items.filter((i) => i.action === "user.password_changed" && i.target === `user:${username}`)
}

beforeAll(async () => {
  d = await startTestDaemon()
  await ensureBootstrap(d, "root")
})
afterAll(() => d?.stop())

describe("password change by a super-admin", () => {
  it("revokes the user's sessions and API tokens; the old password stops working", async () => {
    const alice = await createUser(d, "alice")
    const s1 = (await login(d, "alice")).token
    const s2 = (await login(d, "alice")).token
    const t1 = await mintToken(s1, "ci")
    for (const t of [s1, s2, t1]) expect(await status(t)).toBe(200)

    const r = await patchUser(alice.id, { password: NEW_PASSWORD })
    expect(r.status).toBe(200)
    for (const t of [s1, s2, t1]) expect(await status(t)).toBe(401)
    await expect(login(d, "alice")).rejects.toThrow(/401/)
    expect(await status((await login(d, "alice", NEW_PASSWORD)).token)).toBe(200)

    const records = await passwordAudit("alice")
    expect(records).toHaveLength(1)
    expect(records[0]?.details).toMatchObject({ revokedSessions: 2, revokedTokens: 1, keptTokens: false, keptCurrentCredential: false })
  })

  it("keepTokens: true spares the API tokens but not the sessions", async () => {
    const bob = await createUser(d, "bob")
    const session = (await login(d, "bob")).token
    const token = await mintToken(session, "deploy-bot")
    const r = await patchUser(bob.id, { password: NEW_PASSWORD, keepTokens: true })
    expect(r.status).toBe(200)
    expect(await status(session)).toBe(401)
    expect(await status(token)).toBe(200)
    expect((await passwordAudit("bob"))[0]?.details).toMatchObject({ revokedSessions: 1, revokedTokens: 0, keptTokens: true })
  })

  it("changing only superAdmin revokes nothing; keepTokens without password is a 400 naming the field", async () => {
    const carol = await createUser(d, "carol")
    const session = (await login(d, "carol")).token
    expect((await patchUser(carol.id, { superAdmin: false })).status).toBe(200)
    expect(await status(session)).toBe(200)
    const bad = await patchUser(carol.id, { keepTokens: true })
    expect(bad.status).toBe(400)
    expect((await json<{ error: { message: string } }>(bad)).error.message).toMatch(/^keepTokens: /)
    expect(await status(session)).toBe(200)
    expect(await passwordAudit("carol")).toHaveLength(0)
  })
})

describe("changing your own password", () => {
  it("keeps the session making the request and revokes the other sessions and tokens", async () => {
    const dave = await createUser(d, "dave", true)
    const current = (await login(d, "dave")).token
    const other = (await login(d, "dave")).token
    const token = await mintToken(other, "laptop")
    const r = await patchUser(dave.id, { password: NEW_PASSWORD }, current)
    expect(r.status).toBe(200)
    expect(await status(current)).toBe(200)
    expect(await status(other)).toBe(401)
    expect(await status(token)).toBe(401)
    expect((await passwordAudit("dave"))[0]?.details).toMatchObject({ revokedSessions: 1, revokedTokens: 1, keptCurrentCredential: true })
  })
})

const changeOwn = (token: string | null | undefined, body: unknown, ip = nextIp()) =>
  d.request("/v1/me/password", {
    method: "POST",
    json: body,
    headers: { "x-forwarded-for": ip },
    ...(token === undefined ? {} : { token })
  })

const errorOf = async (r: Response) => (await json<{ error: { code: string; message: string } }>(r)).error

const failedSelfAudit = async (username: string) => {
  const page = await json<{ items: Array<{ action: string; target: string | null; outcome: string }> }>(
    await d.request("/v1/audit?limit=500")
  )
  return page.items.filter((i) => i.action === "user.password_changed" && i.target === `user:${username}` && i.outcome === "failed")
}

describe("POST /v1/me/password (self-service)", () => {
  it("an ordinary user changes their password: other sessions and tokens go, this session stays, the old password stops working", async () => {
    await createUser(d, "erin")
    const current = (await login(d, "erin")).token
    const other = (await login(d, "erin")).token
    const token = await mintToken(other, "ci")
    const r = await changeOwn(current, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })
    expect(r.status).toBe(204)
    expect(await status(current)).toBe(200)
    expect(await status(other)).toBe(401)
    expect(await status(token)).toBe(401)
    await expect(login(d, "erin")).rejects.toThrow(/401/)
    expect(await status((await login(d, "erin", NEW_PASSWORD)).token)).toBe(200)
    const records = await passwordAudit("erin")
    expect(records).toHaveLength(1)
    expect(records[0]?.details).toMatchObject({
      self: true,
      revokedSessions: 1,
      revokedTokens: 1,
      keptTokens: false,
      keptCurrentCredential: true
    })
  })

  it("keepTokens: true spares the API tokens; called with an API token, that token stays", async () => {
    await createUser(d, "frank")
    const session = (await login(d, "frank")).token
    const caller = await mintToken(session, "laptop")
    const spared = await mintToken(session, "deploy-bot")
    const r = await changeOwn(caller, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, keepTokens: true })
    expect(r.status).toBe(204)
    expect(await status(session)).toBe(401)
    expect(await status(caller)).toBe(200)
    expect(await status(spared)).toBe(200)
    expect((await passwordAudit("frank"))[0]?.details).toMatchObject({ self: true, revokedSessions: 1, revokedTokens: 0, keptTokens: true })
  })

  it("a wrong current password is a 400 naming currentPassword, changes and revokes nothing, and is audited", async () => {
    await createUser(d, "grace")
    const current = (await login(d, "grace")).token
    const other = (await login(d, "grace")).token
    const r = await changeOwn(current, { currentPassword: "not my password at all", newPassword: NEW_PASSWORD })
    expect(r.status).toBe(400)
    expect((await errorOf(r)).message).toMatch(/^currentPassword: /)
    for (const t of [current, other]) expect(await status(t)).toBe(200)
    expect(await status((await login(d, "grace")).token)).toBe(200)
    await expect(login(d, "grace", NEW_PASSWORD)).rejects.toThrow(/401/)
    expect(await passwordAudit("grace").then((a) => a.filter((i) => i.details?.["revokedSessions"] !== undefined))).toHaveLength(0)
    expect(await failedSelfAudit("grace")).toHaveLength(1)
  })

  it("attempts share the per-IP login throttle: after 5 guesses even the right password is a 429, and so is login", async () => {
    await createUser(d, "heidi")
    const session = (await login(d, "heidi")).token
    const ip = nextIp()
    for (let i = 0; i < 5; i++) {
      const r = await changeOwn(session, { currentPassword: `guess number ${i} here`, newPassword: NEW_PASSWORD }, ip)
      expect(r.status).toBe(400)
    }
    const blocked = await changeOwn(session, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, ip)
    expect(blocked.status).toBe(429)
    expect((await errorOf(blocked)).code).toBe("RATE_LIMITED")
    const loginBlocked = await d.request("/v1/auth/login", {
      method: "POST",
      token: null,
      json: { username: "heidi", password: PASSWORD },
      headers: { "x-forwarded-for": ip }
    })
    expect(loginBlocked.status).toBe(429)
    expect(await failedSelfAudit("heidi")).toHaveLength(5)
    // the throttled attempt changed nothing; from another address the right password works
    expect(await status(session)).toBe(200)
    expect((await changeOwn(session, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).status).toBe(204)
  })

  it("the admin token has no password: a 400 naming authorization, without spending the login budget", async () => {
    const ip = nextIp()
    for (let i = 0; i < 6; i++) {
      const r = await changeOwn(undefined, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, ip)
      expect(r.status).toBe(400)
      expect((await errorOf(r)).message).toMatch(/^authorization: /)
    }
    await createUser(d, "ivan")
    const ok = await d.request("/v1/auth/login", {
      method: "POST",
      token: null,
      json: { username: "ivan", password: PASSWORD },
      headers: { "x-forwarded-for": ip }
    })
    expect(ok.status).toBe(200)
  })

  it("validates the body: newPassword like everywhere else, currentPassword required, no unknown fields, needs a credential", async () => {
    await createUser(d, "judy")
    const session = (await login(d, "judy")).token
    const short = await changeOwn(session, { currentPassword: PASSWORD, newPassword: "short" })
    expect(short.status).toBe(400)
    expect((await errorOf(short)).message).toMatch(/newPassword.*at least 12/)
    const missing = await changeOwn(session, { newPassword: NEW_PASSWORD })
    expect(missing.status).toBe(400)
    expect((await errorOf(missing)).message).toMatch(/currentPassword/)
    const extra = await changeOwn(session, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, password: NEW_PASSWORD })
    expect(extra.status).toBe(400)
    expect((await changeOwn(null, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).status).toBe(401)
    // nothing was changed by the refused requests
    expect(await status(session)).toBe(200)
    expect(await status((await login(d, "judy")).token)).toBe(200)
  })
})
