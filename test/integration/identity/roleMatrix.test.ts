/**
 * Walks every endpoint of the API definition and checks each kind of caller
 * against the access rule declared next to the endpoint. A new endpoint
 * without a rule or without a fixture here fails this test.
 */
import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type AccessRule, ROLE_RANK } from "../../../src/api/definition/access.js"
import { type EndpointAccess, endpointAccess } from "../../../src/api/server/accessRules.js"
import { sqliteLayer } from "../../../src/db/Database.js"
import { DeploymentsRepo } from "../../../src/repos/DeploymentsRepo.js"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import {
  addMember,
  createProject,
  createService,
  createUser,
  ensureBootstrap,
  json,
  login,
  nextIp,
  PASSWORD
} from "../../support/identity.js"

type Caller = "none" | "viewer" | "operator" | "admin" | "otherAdmin" | "superAdmin" | "adminToken"
const CALLERS: ReadonlyArray<Caller> = ["none", "viewer", "operator", "admin", "otherAdmin", "superAdmin", "adminToken"]
const PROJECT_ROLE: Partial<Record<Caller, keyof typeof ROLE_RANK>> = { viewer: "viewer", operator: "operator", admin: "admin" }

let d: TestDaemon
const tokens = new Map<Caller, string | null | undefined>()
const ids: Record<string, string> = {}
let seq = 0
const unique = (prefix: string) => `${prefix}-${++seq}`

const apiTokenFor = async (username: string) => {
  const session = await login(d, username)
  const r = await d.request("/v1/api-tokens", { method: "POST", token: session.token, json: { name: "matrix" } })
  return (await json<{ token: string }>(r)).token
}

beforeAll(async () => {
  d = await startTestDaemon()
  await ensureBootstrap(d, "root")
  const p = await createProject(d, "matrix-p")
  const q = await createProject(d, "matrix-q")
  ids["P"] = p.id
  ids["Q"] = q.id
  for (const role of ["viewer", "operator", "admin"] as const) {
    const u = await createUser(d, `m-${role}`)
    ids[role] = u.id
    await addMember(d, p.id, u.id, role)
  }
  const other = await createUser(d, "m-other-admin")
  await addMember(d, q.id, other.id, "admin")
  const target = await createUser(d, "m-target")
  ids["U"] = target.id
  ids["S"] = (await createService(d, p.id, "svc", { SECRET_ISH: "plain-value" })).id
  // A deployment row (the pipeline that creates them comes later).
  const deployment = await Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(DeploymentsRepo, (repo) => repo.create(ids["S"] ?? "", "busybox")).pipe(
        Effect.provide(DeploymentsRepo.layer.pipe(Layer.provide(sqliteLayer(d.config.paths.sqlite))))
      )
    )
  )
  ids["D"] = deployment.id

  tokens.set("none", null)
  tokens.set("adminToken", undefined) // the test helper sends the admin token by default
  tokens.set("superAdmin", await apiTokenFor("root"))
  for (const role of ["viewer", "operator", "admin"] as const) tokens.set(role, await apiTokenFor(`m-${role}`))
  tokens.set("otherAdmin", await apiTokenFor("m-other-admin"))
}, 120_000)
afterAll(() => d.stop())

interface Call {
  readonly path: string
  readonly body?: unknown
}

/** Fresh targets for destructive endpoints so each caller acts on its own resource. */
const fixtures: Record<string, () => Promise<Call>> = {
  "GET /healthz": async () => ({ path: "/healthz" }),
  "GET /v1/openapi.json": async () => ({ path: "/v1/openapi.json" }),
  "GET /v1/setup-status": async () => ({ path: "/v1/setup-status" }),
  "POST /v1/auth/login": async () => ({ path: "/v1/auth/login", body: { username: "m-target", password: PASSWORD } }),
  "POST /v1/bootstrap": async () => ({ path: "/v1/bootstrap", body: { username: unique("boot"), password: PASSWORD } }),
  "POST /v1/auth/logout": async () => ({ path: "/v1/auth/logout" }),
  "GET /v1/me": async () => ({ path: "/v1/me" }),
  // a wrong current password: every caller gets its verdict without changing a password
  "POST /v1/me/password": async () => ({
    path: "/v1/me/password",
    body: { currentPassword: "not the password", newPassword: "matrix new passphrase" }
  }),
  "GET /v1/api-tokens": async () => ({ path: "/v1/api-tokens" }),
  "POST /v1/api-tokens": async () => ({ path: "/v1/api-tokens", body: { name: "t" } }),
  "DELETE /v1/api-tokens/:id": async () => ({ path: `/v1/api-tokens/${randomUUID()}` }),
  "GET /v1/users": async () => ({ path: "/v1/users" }),
  "POST /v1/users": async () => ({ path: "/v1/users", body: { username: unique("u"), password: PASSWORD } }),
  "GET /v1/users/:id": async () => ({ path: `/v1/users/${ids["U"]}` }),
  "PATCH /v1/users/:id": async () => ({ path: `/v1/users/${ids["U"]}`, body: { superAdmin: false } }),
  "DELETE /v1/users/:id": async () => ({ path: `/v1/users/${(await createUser(d, unique("del"))).id}` }),
  "GET /v1/projects/:id/members": async () => ({ path: `/v1/projects/${ids["P"]}/members` }),
  "POST /v1/projects/:id/members": async () => ({ path: `/v1/projects/${ids["P"]}/members`, body: { userId: ids["U"], role: "viewer" } }),
  "DELETE /v1/projects/:id/members/:userId": async () => {
    const u = await createUser(d, unique("mem"))
    await addMember(d, ids["P"] ?? "", u.id, "viewer")
    return { path: `/v1/projects/${ids["P"]}/members/${u.id}` }
  },
  "GET /v1/audit": async () => ({ path: "/v1/audit" }),
  "GET /v1/projects": async () => ({ path: "/v1/projects" }),
  "POST /v1/projects": async () => ({ path: "/v1/projects", body: { name: unique("proj") } }),
  "GET /v1/projects/:id": async () => ({ path: `/v1/projects/${ids["P"]}` }),
  "PATCH /v1/projects/:id": async () => ({ path: `/v1/projects/${ids["P"]}`, body: {} }),
  "DELETE /v1/projects/:id": async () => {
    // a fresh empty project with the same members as P
    const p = await createProject(d, unique("gone"))
    for (const role of ["viewer", "operator", "admin"] as const) await addMember(d, p.id, ids[role] ?? "", role)
    return { path: `/v1/projects/${p.id}` }
  },
  "GET /v1/services": async () => ({ path: "/v1/services" }),
  "POST /v1/services": async () => ({
    path: "/v1/services",
    body: { projectId: ids["P"], name: unique("s"), port: 8080, source: { type: "image", image: "busybox" } }
  }),
  "GET /v1/services/:id": async () => ({ path: `/v1/services/${ids["S"]}` }),
  "PATCH /v1/services/:id": async () => ({ path: `/v1/services/${ids["S"]}`, body: {} }),
  "DELETE /v1/services/:id": async () => ({ path: `/v1/services/${(await createService(d, ids["P"] ?? "", unique("dead"))).id}` }),
  "GET /v1/services/:id/deployments": async () => ({ path: `/v1/services/${ids["S"]}/deployments` }),
  "GET /v1/deployments/:id": async () => ({ path: `/v1/deployments/${ids["D"]}` }),
  "POST /v1/services/:id/deployments": async () => ({
    path: `/v1/services/${(await createService(d, ids["P"] ?? "", unique("dep"))).id}/deployments`,
    body: {}
  }),
  "POST /v1/deployments": async () => ({
    path: "/v1/deployments",
    body: { serviceId: (await createService(d, ids["P"] ?? "", unique("dep"))).id }
  }),
  "GET /v1/oci/cache": async () => ({ path: "/v1/oci/cache" }),
  "POST /v1/oci/cache/gc": async () => ({ path: "/v1/oci/cache/gc" }),
  "POST /v1/oci/pulls": async () => ({ path: "/v1/oci/pulls", body: { image: "127.0.0.1:1/none/none:1" } }),
  "GET /v1/oci/pulls/:id": async () => ({ path: `/v1/oci/pulls/${randomUUID()}` }),
  "GET /v1/deployments/:id/logs": async () => ({ path: `/v1/deployments/${ids["D"]}/logs` }),
  "POST /v1/services/:id/stop": async () => ({ path: `/v1/services/${ids["S"]}/stop` }),
  "POST /v1/services/:id/start": async () => ({ path: `/v1/services/${ids["S"]}/start` }),
  "POST /v1/services/:id/restart": async () => ({ path: `/v1/services/${ids["S"]}/restart` }),
  "POST /v1/services/:id/rollback": async () => ({ path: `/v1/services/${ids["S"]}/rollback` }),
  "GET /v1/services/:id/logs": async () => ({ path: `/v1/services/${ids["S"]}/logs` }),
  "GET /v1/services/:id/logs/stream": async () => ({ path: `/v1/services/${ids["S"]}/logs/stream` }),
  "GET /v1/projects/:id/registries": async () => ({ path: `/v1/projects/${ids["P"]}/registries` }),
  "POST /v1/projects/:id/registries": async () => ({
    path: `/v1/projects/${ids["P"]}/registries`,
    body: { name: unique("reg"), endpoint: "ghcr.io", auth: { kind: "anonymous" } }
  }),
  "GET /v1/projects/:id/registries/:registryId": async () => ({ path: `/v1/projects/${ids["P"]}/registries/${randomUUID()}` }),
  "PATCH /v1/projects/:id/registries/:registryId": async () => ({ path: `/v1/projects/${ids["P"]}/registries/${randomUUID()}`, body: {} }),
  "DELETE /v1/projects/:id/registries/:registryId": async () => ({ path: `/v1/projects/${ids["P"]}/registries/${randomUUID()}` }),
  "GET /v1/services/:id/secrets": async () => ({ path: `/v1/services/${ids["S"]}/secrets` }),
  "POST /v1/services/:id/secrets": async () => ({
    path: `/v1/services/${ids["S"]}/secrets`,
    body: { name: "MATRIX_SECRET", value: "matrix-value" }
  }),
  "DELETE /v1/services/:id/secrets/:name": async () => ({ path: `/v1/services/${ids["S"]}/secrets/NOT_SET` }),
  "GET /v1/ingress/routes": async () => ({ path: "/v1/ingress/routes" }),
  "GET /v1/services/:id/domains": async () => ({ path: `/v1/services/${ids["S"]}/domains` }),
  "POST /v1/services/:id/domains": async () => ({
    path: `/v1/services/${ids["S"]}/domains`,
    body: { hostname: `${unique("d")}.matrix.example` }
  }),
  "DELETE /v1/services/:id/domains/:domainId": async () => ({ path: `/v1/services/${ids["S"]}/domains/${randomUUID()}` }),
  "POST /v1/services/:id/domains/:domainId/verify": async () => ({ path: `/v1/services/${ids["S"]}/domains/${randomUUID()}/verify` }),
  "GET /v1/services/:id/requests": async () => ({ path: `/v1/services/${ids["S"]}/requests` }),
  "GET /v1/registry/status": async () => ({ path: "/v1/registry/status" }),
  "GET /v1/registry/repositories": async () => ({ path: "/v1/registry/repositories" }),
  "POST /v1/registry/gc": async () => ({ path: "/v1/registry/gc" }),
  "GET /v1/registry/gc/:id": async () => ({ path: `/v1/registry/gc/${randomUUID()}` }),
  // Volumes (S has none: admitted callers get 404 for a named volume, which is still past the access check)
  "GET /v1/services/:id/volumes": async () => ({ path: `/v1/services/${ids["S"]}/volumes` }),
  "DELETE /v1/services/:id/volumes/:name": async () => ({ path: `/v1/services/${ids["S"]}/volumes/none` }),
  "GET /v1/services/:id/volumes/:name/archive": async () => ({ path: `/v1/services/${ids["S"]}/volumes/none/archive` }),
  "PUT /v1/services/:id/volumes/:name/archive": async () => ({ path: `/v1/services/${ids["S"]}/volumes/none/archive` }),
  // stored uploads (S is an image service: none stored, an empty list)
  "GET /v1/services/:id/uploads": async () => ({ path: `/v1/services/${ids["S"]}/uploads` }),
  // Git sources (S is an image service: admitted callers get 400, which is still past the access check)
  "POST /v1/hooks/:serviceId/:secret": async () => ({ path: `/v1/hooks/${ids["S"]}/not-the-secret`, body: { ref: "main" } }),
  "GET /v1/services/:id/git": async () => ({ path: `/v1/services/${ids["S"]}/git` }),
  "POST /v1/services/:id/git/hook": async () => ({ path: `/v1/services/${ids["S"]}/git/hook` }),
  "POST /v1/services/:id/git/check": async () => ({ path: `/v1/services/${ids["S"]}/git/check` }),
  "DELETE /v1/services/:id/git/host-key": async () => ({ path: `/v1/services/${ids["S"]}/git/host-key` })
}

/** Which callers the rule admits. Handler-scoped list endpoints admit every authenticated caller (and filter). */
const admits = (e: EndpointAccess, rule: AccessRule, caller: Caller): boolean => {
  if (rule.kind === "public") return true
  if (caller === "none") return false
  switch (rule.kind) {
    case "authenticated":
      return true
    case "adminToken":
      return caller === "adminToken"
    case "superAdmin":
      return caller === "superAdmin" || caller === "adminToken"
    case "project": {
      if (caller === "superAdmin" || caller === "adminToken") return true
      if (rule.scope === "handler" && e.method === "GET") return true
      const role = PROJECT_ROLE[caller]
      return role !== undefined && ROLE_RANK[role] >= ROLE_RANK[rule.role]
    }
  }
}

const endpoints = endpointAccess()

describe("role matrix", () => {
  it("has a fixture for every endpoint of the API definition", () => {
    const missing = endpoints.map((e) => `${e.method} ${e.path}`).filter((k) => fixtures[k] === undefined)
    expect(missing).toEqual([])
  })

  for (const e of endpoints) {
    const key = `${e.method} ${e.path}`
    it(`${key} (${JSON.stringify(e.rule)})`, async () => {
      const rule = e.rule
      expect(rule, "every endpoint declares an access rule").toBeDefined()
      const fixture = fixtures[key]
      if (rule === undefined || fixture === undefined) throw new Error(`no rule or fixture for ${key}`)
      for (const caller of CALLERS) {
        const call = await fixture()
        const token = tokens.get(caller)
        const r = await d.request(call.path, {
          method: e.method,
          ...(token === undefined ? {} : { token }),
          ...(call.body === undefined ? {} : { json: call.body }),
          headers: { "x-forwarded-for": nextIp() }
        })
        // streams (SSE) are not read to the end: the status line is the verdict
        const text = r.headers.get("content-type")?.includes("text/event-stream") ? (await r.body?.cancel(), "") : await r.text()
        const allowed = admits(e, rule, caller)
        if (allowed) {
          expect(r.status === 403 || (r.status === 401 && text.includes("\"UNAUTHORIZED\"")), `${caller} should pass: ${r.status} ${text}`)
            .toBe(false)
        } else {
          expect(r.status, `${caller} should be denied: ${text}`).toBe(caller === "none" ? 401 : 403)
        }
      }
    })
  }
})

describe("list endpoints filter by membership; viewers get env values redacted", () => {
  it("another project's admin sees neither P nor its services", async () => {
    const projects = await json<{ items: Array<{ id: string }> }>(
      await d.request("/v1/projects", { token: tokens.get("otherAdmin") ?? null })
    )
    expect(projects.items.map((p) => p.id)).toEqual([ids["Q"]])
    const services = await json<{ items: Array<{ id: string }> }>(
      await d.request("/v1/services", { token: tokens.get("otherAdmin") ?? null })
    )
    expect(services.items.map((s) => s.id)).not.toContain(ids["S"])
    const filtered = await json<{ items: Array<unknown> }>(
      await d.request(`/v1/services?projectId=${ids["P"]}`, { token: tokens.get("otherAdmin") ?? null })
    )
    expect(filtered.items).toEqual([])
  })
  it("a viewer sees env keys but not values; an operator sees values", async () => {
    const asViewer = await json<{ env: Record<string, string> }>(
      await d.request(`/v1/services/${ids["S"]}`, { token: tokens.get("viewer") ?? null })
    )
    expect(asViewer.env).toEqual({ SECRET_ISH: "<redacted>" })
    const list = await json<{ items: Array<{ id: string; env: Record<string, string> }> }>(
      await d.request("/v1/services", { token: tokens.get("viewer") ?? null })
    )
    expect(list.items.find((s) => s.id === ids["S"])?.env).toEqual({ SECRET_ISH: "<redacted>" })
    const asOperator = await json<{ env: Record<string, string> }>(
      await d.request(`/v1/services/${ids["S"]}`, { token: tokens.get("operator") ?? null })
    )
    expect(asOperator.env).toEqual({ SECRET_ISH: "plain-value" })
  })
})
