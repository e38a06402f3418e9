/**
 * Password change revokes credentials (issue 13 item 7, ADR 0010): sessions
 * always, API tokens unless `keepTokens: true`; the credential making a
 * self-change survives; audited as `user.password_changed` with counts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { createUser, ensureBootstrap, json, login, nextIp } from "../../support/identity.js"

const NEW_PASSWORD = "a different long passphrase"
let d: TestDaemon

const status = (token: string) => d.request("/v1/me", { token, headers: { "x-forwarded-for": nextIp() } }).then((r) => r.status)

const mintToken = async (session: string, name: string) => {
  const r = await d.request("/v1/api-tokens", { method: "POST", token: session, json: { name }, headers: { "x-forwarded-for": nextIp() } })
  expect(r.status).toBe(201)
  return (await json<{ token: string }>(r)).token
}

const patchUser = (id: string, body: unknown, token?: string) =>
  d.request(`/v1/users/${id}`, { method: "PATCH", json: body, headers: { "x-forwarded-for": nextIp() }, ...(token === undefined ? {} : { token }) })

const passwordAudit = async (username: string) => {
  const page = await json<{ items: Array<{ action: string; target: string | null; details: Record<string, unknown> | null }> }>(await d.request("/v1/audit?limit=500"))
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
