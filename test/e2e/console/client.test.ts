/**
 * The console's API layer (`console/src/api/client.ts`) against a real
 * daemon: typed calls with the session token, and every failure kind turned
 * into an `ApiFailure` with the field the API named.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, configureClient } from "../../../console/src/api/client.js"
import { ApiFailure } from "../../../console/src/api/failure.js"
import { ADMIN_TOKEN, startTestDaemon, type TestDaemon } from "../../support/daemon.js"

const PASSWORD = "correct-horse-battery"

const failureOf = async (p: Promise<unknown>): Promise<ApiFailure> => {
  try {
    await p
  } catch (e) {
    if (e instanceof ApiFailure) return e
    throw e
  }
  throw new Error("expected the call to fail")
}

describe("console API client", () => {
  let daemon: TestDaemon
  let token: string | undefined
  let unauthorized = 0
  beforeAll(async () => {
    daemon = await startTestDaemon()
    configureClient({ baseUrl: daemon.url, token: () => token, onUnauthorized: () => unauthorized++ })
  })
  afterAll(async () => daemon?.stop())

  it("bootstraps with the admin token, logs in and calls with the session token", async () => {
    const user = await call((c) => c.auth.bootstrap({ payload: { username: "ops", password: PASSWORD } }), { token: ADMIN_TOKEN })
    expect(user.username).toBe("ops")
    const again = await failureOf(
      call((c) => c.auth.bootstrap({ payload: { username: "ops2", password: PASSWORD } }), { token: ADMIN_TOKEN })
    )
    expect(again.status).toBe(409)

    const session = await call((c) => c.authPublic.login({ payload: { username: "ops", password: PASSWORD } }), { token: undefined })
    token = session.token
    const me = await call((c) => c.auth.me())
    expect(me).toMatchObject({ user: { username: "ops" }, superAdmin: true, credential: "session" })
  })

  it("reports API conflicts, server-side 400s and client-side schema refusals with their field", async () => {
    const project = await call((c) => c.projects.create({ payload: { name: "web", sharedEnv: {}, defaultLimits: null } }))
    const dup = await failureOf(call((c) => c.projects.create({ payload: { name: "web", sharedEnv: {}, defaultLimits: null } })))
    expect(dup).toMatchObject({ status: 409, code: expect.any(String) })
    expect(dup.message.length).toBeGreaterThan(0)

    const spec = {
      source: { type: "image" as const, image: "registry.example/app:1", registryId: null },
      port: 8080,
      env: {},
      limits: null,
      health: { type: "http" as const, path: "/", timeoutSeconds: 30 },
      tlsEnabled: false,
      autoscale: null,
      endpoints: [],
      volumes: [],
      capabilities: {},
      shmMb: 64
    }
    const service = await call((c) => c.services.create({ payload: { projectId: project.id, name: "api", ...spec } }))
    const listed = await call((c) => c.services.list({ urlParams: { projectId: project.id } }))
    expect(listed.items.map((s) => s.name)).toEqual(["api"])

    // The daemon refuses a PATCH whose name does not match the service: a 400 from the API itself.
    const mismatch = await failureOf(call((c) => c.services.update({ path: { id: service.id }, payload: { name: "other", port: 9000 } })))
    expect(mismatch.status).toBe(400)
    expect(mismatch.message).toMatch(/name/)

    // The typed client checks payloads with the API schema before sending: same field-first shape, no request.
    const invalid = await failureOf(call((c) => c.services.create({ payload: { projectId: project.id, name: "x", ...spec, port: 0 } })))
    expect(invalid).toMatchObject({ status: 0, code: "INVALID_INPUT" })
    expect(invalid.issues).toContainEqual({ field: "port", message: "port must be between 1 and 65535" })

    const missing = await failureOf(call((c) => c.services.get({ path: { id: "0190aaaa-0000-7000-8000-00000000abcd" } })))
    expect(missing.status).toBe(404)
  })

  it("tells the session store about a rejected token, but not for explicit-token calls", async () => {
    const before = unauthorized
    const saved = token
    token = "not-a-real-token"
    const e = await failureOf(call((c) => c.projects.list()))
    expect(e.status).toBe(401)
    expect(unauthorized).toBe(before + 1)
    const bad = await failureOf(call((c) => c.auth.bootstrap({ payload: { username: "zz", password: PASSWORD } }), { token: "wrong" }))
    expect(bad.status).toBe(401)
    expect(unauthorized).toBe(before + 1)
    token = saved
  })

  it("reports an unreachable daemon as a network failure", async () => {
    configureClient({ baseUrl: "http://127.0.0.1:1", token: () => token, onUnauthorized: () => unauthorized++ })
    const e = await failureOf(call((c) => c.projects.list()))
    expect(e).toMatchObject({ status: 0, code: "NETWORK" })
    configureClient({ baseUrl: daemon.url, token: () => token, onUnauthorized: () => unauthorized++ })
  })
})
