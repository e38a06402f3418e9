import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { resolveRegistryCredentials, toRegistryCredentials } from "../../../src/secrets/registries.js"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { addMember, createProject, createUser, ensureBootstrap, login } from "../../support/identity.js"
import { caller, errorOf, type Reply, runWithSecrets } from "./helpers.js"

let d: TestDaemon
let call: ReturnType<typeof caller>
let projectId: string
let otherProjectId: string
const tokens: Record<"viewer" | "operator" | "admin" | "otherAdmin", string> = { viewer: "", operator: "", admin: "", otherAdmin: "" }

beforeAll(async () => {
  d = await startTestDaemon()
  call = caller(d)
  await ensureBootstrap(d, "root")
  projectId = (await createProject(d, "regs")).id
  otherProjectId = (await createProject(d, "regs-other")).id
  for (const role of ["viewer", "operator", "admin"] as const) {
    const u = await createUser(d, `reg-${role}`)
    await addMember(d, projectId, u.id, role)
    tokens[role] = (await login(d, `reg-${role}`)).token
  }
  const other = await createUser(d, "reg-other-admin")
  await addMember(d, otherProjectId, other.id, "admin")
  tokens.otherAdmin = (await login(d, "reg-other-admin")).token
}, 60_000)
afterAll(() => d.stop())

const base = () => `/v1/projects/${projectId}/registries`
const create = (body: unknown, token?: string): Promise<Reply> =>
  call(base(), { method: "POST", json: body, ...(token === undefined ? {} : { token }) })

describe("registry CRUD", () => {
  it("creates each kind; responses carry the kind and at most a username", async () => {
    const bodies = [
      { name: "hub", endpoint: "docker.io", auth: { kind: "anonymous" } },
      { name: "private", endpoint: "registry.example.com:5000", auth: { kind: "basic", username: "deploy", password: "pw-basic-1" } },
      { name: "ghcr", endpoint: "ghcr.io", auth: { kind: "token", token: "tok-bearer-1" } },
      { name: "ecr", endpoint: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", auth: { kind: "ecr", token: "tok-ecr-1" } },
      { name: "gar", endpoint: "europe-docker.pkg.dev", auth: { kind: "gar", token: "tok-gar-1" } }
    ]
    for (const body of bodies) {
      const r = await create(body)
      expect(r.status, r.text).toBe(201)
      const reg = r.json<{ id: string; projectId: string; name: string; endpoint: string; auth: Record<string, unknown> }>()
      expect(reg.id.charAt(14)).toBe("7")
      expect(reg).toMatchObject({ projectId, name: body.name, endpoint: body.endpoint })
      expect(reg.auth).toEqual(body.auth.kind === "basic" ? { kind: "basic", username: "deploy" } : { kind: body.auth.kind })
      expect(r.text).not.toMatch(/pw-basic-1|tok-/)
    }
    const list = await call(base())
    expect(list.status).toBe(200)
    expect(list.json<{ items: Array<{ name: string }> }>().items.map((i) => i.name)).toEqual(["ecr", "gar", "ghcr", "hub", "private"])
    expect(list.text).not.toMatch(/pw-basic-1|tok-|secretRef|sops/)
  })

  it("get, patch (rename, replace credentials, switch kind) and delete", async () => {
    const created = (await create({ name: "cycle", endpoint: "quay.io", auth: { kind: "basic", username: "u1", password: "p-cycle-1" } }))
      .json<{ id: string }>()
    const secretsDir = path.join(d.dataDir, "secrets", projectId)
    const fileCount = () => fs.readdirSync(secretsDir).filter((f) => f.endsWith(".sops.yaml")).length
    const withCredentials = fileCount()
    const url = `${base()}/${created.id}`
    const got = await call(url)
    expect(got.json<{ name: string; auth: unknown }>()).toMatchObject({ name: "cycle", auth: { kind: "basic", username: "u1" } })

    const renamed = await call(url, { method: "PATCH", json: { name: "cycle2", endpoint: "quay.io:443" } })
    expect(renamed.status, renamed.text).toBe(200)
    expect(renamed.json<{ name: string; endpoint: string; auth: unknown }>()).toMatchObject({
      name: "cycle2",
      endpoint: "quay.io:443",
      auth: { kind: "basic", username: "u1" }
    })
    const creds1 = await runWithSecrets(d, resolveRegistryCredentials(projectId, created.id))
    expect(creds1).toEqual({ kind: "basic", username: "u1", password: "p-cycle-1" })

    const replaced = await call(url, { method: "PATCH", json: { auth: { kind: "token", token: "t-cycle-2" } } })
    expect(replaced.json<{ auth: unknown }>().auth).toEqual({ kind: "token" })
    expect(await runWithSecrets(d, resolveRegistryCredentials(projectId, created.id))).toEqual({ kind: "bearer", token: "t-cycle-2" })
    // replaced credentials: the old file is gone, one file remains
    expect(fileCount()).toBe(withCredentials)

    // switching to anonymous removes the file
    const anon = await call(url, { method: "PATCH", json: { auth: { kind: "anonymous" } } })
    expect(anon.json<{ auth: unknown }>().auth).toEqual({ kind: "anonymous" })
    expect(await runWithSecrets(d, resolveRegistryCredentials(projectId, created.id))).toEqual({ kind: "anonymous" })
    expect(fileCount()).toBe(withCredentials - 1)

    expect((await call(url, { method: "DELETE" })).status).toBe(204)
    expect((await call(url)).status).toBe(404)
    expect((await call(url, { method: "DELETE" })).status).toBe(404)
  })

  it("duplicate names conflict (409) and leave no orphan credentials file", async () => {
    const secretsDir = path.join(d.dataDir, "secrets", projectId)
    const before = fs.existsSync(secretsDir) ? fs.readdirSync(secretsDir).length : 0
    const first = await create({ name: "dup", endpoint: "ghcr.io", auth: { kind: "token", token: "t-dup-1" } })
    expect(first.status).toBe(201)
    const second = await create({ name: "dup", endpoint: "ghcr.io", auth: { kind: "token", token: "t-dup-2" } })
    expect(second.status).toBe(409)
    expect(fs.readdirSync(secretsDir).length).toBe(before + 1)
    const id = first.json<{ id: string }>().id
    expect((await call(`${base()}/${id}`, { method: "DELETE" })).status).toBe(204)
    expect(fs.readdirSync(secretsDir).length).toBe(before)
  })

  it("a registry of another project is not found through this project", async () => {
    const foreign = await call(`/v1/projects/${otherProjectId}/registries`, {
      method: "POST",
      json: { name: "foreign", endpoint: "ghcr.io", auth: { kind: "anonymous" } }
    })
    const id = foreign.json<{ id: string }>().id
    expect((await call(`${base()}/${id}`)).status).toBe(404)
    expect((await call(`${base()}/${id}`, { method: "DELETE" })).status).toBe(404)
    expect((await call(`/v1/projects/${otherProjectId}/registries/${id}`)).status).toBe(200)
  })
})

describe("project deletion", () => {
  it("a project that only has registries can be deleted; its registries go with it", async () => {
    const p = (await call("/v1/projects", { method: "POST", json: { name: "short-lived" } })).json<{ id: string }>()
    const reg = await call(`/v1/projects/${p.id}/registries`, {
      method: "POST",
      json: { name: "r", endpoint: "ghcr.io", auth: { kind: "token", token: "t-short" } }
    })
    expect(reg.status).toBe(201)
    expect(fs.readdirSync(path.join(d.dataDir, "secrets", p.id)).some((f) => f.endsWith(".sops.yaml"))).toBe(true)
    expect((await call(`/v1/projects/${p.id}`, { method: "DELETE" })).status).toBe(204)
    expect((await call(`/v1/projects/${p.id}/registries`)).status).toBe(404)
    const result = await runWithSecrets(d, Effect.either(resolveRegistryCredentials(p.id, reg.json<{ id: string }>().id)))
    expect(Either.isLeft(result) && result.left._tag).toBe("denia/domain/NotFound")
    // and its encrypted files are removed from disk
    expect(fs.existsSync(path.join(d.dataDir, "secrets", p.id))).toBe(false)
  })
})

describe("validation (400 naming the field, never echoing a credential)", () => {
  const cases: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    [
      "missing password for basic",
      { name: "v1", endpoint: "ghcr.io", auth: { kind: "basic", username: "u" } },
      /^auth\.password: is required when kind is basic/
    ],
    [
      "missing username for basic",
      { name: "v2", endpoint: "ghcr.io", auth: { kind: "basic", password: "hunter2-leak" } },
      /^auth\.username: is required/
    ],
    [
      "missing token for token",
      { name: "v3", endpoint: "ghcr.io", auth: { kind: "token" } },
      /^auth\.token: is required when kind is token/
    ],
    [
      "missing token for ecr",
      { name: "v4", endpoint: "x.dkr.ecr.us-east-1.amazonaws.com", auth: { kind: "ecr" } },
      /^auth\.token: is required when kind is ecr/
    ],
    [
      "missing token for gar",
      { name: "v5", endpoint: "europe-docker.pkg.dev", auth: { kind: "gar" } },
      /^auth\.token: is required when kind is gar/
    ],
    [
      "password with anonymous",
      { name: "v6", endpoint: "ghcr.io", auth: { kind: "anonymous", password: "hunter2-leak" } },
      /^auth\.password: is not accepted when kind is anonymous/
    ],
    [
      "token with basic",
      { name: "v7", endpoint: "ghcr.io", auth: { kind: "basic", username: "u", password: "p", token: "hunter2-leak" } },
      /^auth\.token: is not accepted when kind is basic/
    ],
    [
      "unknown kind",
      { name: "v8", endpoint: "ghcr.io", auth: { kind: "kerberos" } },
      /^auth\.kind: must be one of anonymous, basic, token, ecr, gar/
    ],
    [
      "non-string password",
      { name: "v9", endpoint: "ghcr.io", auth: { kind: "basic", username: "u", password: 424242424242 } },
      /^auth\.password: password must be a string/
    ],
    [
      "control characters in a token",
      { name: "v10", endpoint: "ghcr.io", auth: { kind: "token", token: "hunter2-leak\nX" } },
      /^auth\.token: token must not contain control characters/
    ],
    [
      "colon in a username",
      { name: "v11", endpoint: "ghcr.io", auth: { kind: "basic", username: "a:b", password: "p" } },
      /^auth\.username: username must not contain ':'/
    ],
    [
      "endpoint with a scheme",
      { name: "v12", endpoint: "https://ghcr.io", auth: { kind: "anonymous" } },
      /^endpoint: must be a registry host\[:port\]/
    ],
    [
      "endpoint with a bad port",
      { name: "v13", endpoint: "ghcr.io:70000", auth: { kind: "anonymous" } },
      /^endpoint: port must be between 1 and 65535/
    ],
    ["bad name", { name: "Bad_Name", endpoint: "ghcr.io", auth: { kind: "anonymous" } }, /^name: /],
    ["unknown field", { name: "v14", endpoint: "ghcr.io", auth: { kind: "anonymous" }, extra: 1 }, /extra/],
    ["unknown auth field", { name: "v15", endpoint: "ghcr.io", auth: { kind: "anonymous", secret: "hunter2-leak" } }, /secret/]
  ]
  for (const [what, body, message] of cases) {
    it(what, async () => {
      const r = await create(body)
      expect(r.status, r.text).toBe(400)
      expect(errorOf(r).message).toMatch(message)
      expect(r.text).not.toContain("hunter2-leak")
      expect(r.text).not.toContain("424242424242")
    })
  }

  it("PATCH validates auth the same way", async () => {
    const id = (await create({ name: "patchval", endpoint: "ghcr.io", auth: { kind: "anonymous" } })).json<{ id: string }>().id
    const r = await call(`${base()}/${id}`, { method: "PATCH", json: { auth: { kind: "basic", username: "u" } } })
    expect(r.status).toBe(400)
    expect(errorOf(r).message).toMatch(/^auth\.password: is required/)
  })
})

describe("registries referenced by services", () => {
  it("delete while a service's source.registryId references it → 409; free again after the service moves", async () => {
    const reg = (await create({ name: "inuse", endpoint: "ghcr.io", auth: { kind: "token", token: "t-inuse" } })).json<{ id: string }>()
    const svc = await call("/v1/services", {
      method: "POST",
      json: { projectId, name: "puller", port: 8080, source: { type: "image", image: "ghcr.io/acme/app:1", registryId: reg.id } }
    })
    expect(svc.status, svc.text).toBe(201)
    const del = await call(`${base()}/${reg.id}`, { method: "DELETE" })
    expect(del.status).toBe(409)
    expect(errorOf(del).message).toMatch(/puller/)
    expect((await call(`${base()}/${reg.id}`)).status).toBe(200)

    const serviceId = svc.json<{ id: string }>().id
    const moved = await call(`/v1/services/${serviceId}`, { method: "PATCH", json: { source: { type: "image", image: "busybox:1.36" } } })
    expect(moved.status, moved.text).toBe(200)
    expect((await call(`${base()}/${reg.id}`, { method: "DELETE" })).status).toBe(204)
  })

  it("a service cannot point at a registry of another project or an unknown one (400 naming source.registryId)", async () => {
    const foreign = (
      await call(`/v1/projects/${otherProjectId}/registries`, {
        method: "POST",
        json: { name: "theirs", endpoint: "ghcr.io", auth: { kind: "anonymous" } }
      })
    ).json<{ id: string }>()
    const body = (registryId: string) => ({
      projectId,
      name: "cross",
      port: 8080,
      source: { type: "image", image: "ghcr.io/acme/app:1", registryId }
    })
    for (const registryId of [foreign.id, "0190c8a4-0000-7000-8000-000000000000"]) {
      const r = await call("/v1/services", { method: "POST", json: body(registryId) })
      expect(r.status).toBe(400)
      expect(errorOf(r).message).toMatch(/^source\.registryId: /)
      expect(errorOf(r).details).toEqual({ field: "source.registryId" })
    }
    const ok = (await call("/v1/services", { method: "POST", json: { ...body(foreign.id), source: { type: "image", image: "busybox" } } }))
      .json<{ id: string }>()
    const patch = await call(`/v1/services/${ok.id}`, {
      method: "PATCH",
      json: { source: { type: "image", image: "busybox", registryId: foreign.id } }
    })
    expect(patch.status).toBe(400)
    expect(errorOf(patch).message).toMatch(/^source\.registryId: /)
  })
})

describe("resolveRegistryCredentials", () => {
  it("maps each kind to the OCI client's credentials", async () => {
    const ids = new Map<string, string>()
    for (
      const [name, auth] of [
        ["r-anon", { kind: "anonymous" }],
        ["r-basic", { kind: "basic", username: "bob", password: "b-pass" }],
        ["r-token", { kind: "token", token: "b-token" }],
        ["r-ecr", { kind: "ecr", token: "b-ecr" }],
        ["r-gar", { kind: "gar", token: "b-gar" }]
      ] as const
    ) {
      const r = await create({ name, endpoint: "ghcr.io", auth })
      ids.set(name, r.json<{ id: string }>().id)
    }
    const resolve = (name: string) => runWithSecrets(d, resolveRegistryCredentials(projectId, ids.get(name) ?? ""))
    expect(await resolve("r-anon")).toEqual({ kind: "anonymous" })
    expect(await resolve("r-basic")).toEqual({ kind: "basic", username: "bob", password: "b-pass" })
    expect(await resolve("r-token")).toEqual({ kind: "bearer", token: "b-token" })
    expect(await resolve("r-ecr")).toEqual({ kind: "basic", username: "AWS", password: "b-ecr" })
    expect(await resolve("r-gar")).toEqual({ kind: "basic", username: "oauth2accesstoken", password: "b-gar" })
  })

  it("fails with NotFound for an unknown registry or one of another project", async () => {
    const foreign = (
      await call(`/v1/projects/${otherProjectId}/registries`, {
        method: "POST",
        json: { name: "nf", endpoint: "ghcr.io", auth: { kind: "token", token: "nf" } }
      })
    ).json<{ id: string }>()
    const result = await runWithSecrets(d, Effect.either(resolveRegistryCredentials(projectId, foreign.id)))
    expect(Either.isLeft(result) && result.left._tag).toBe("denia/domain/NotFound")
  })

  it("a tampered credentials file is SecretUnavailable, naming the registry but not the value", async () => {
    const reg = (await create({ name: "tampered", endpoint: "ghcr.io", auth: { kind: "token", token: "tamper-token-value" } })).json<
      { id: string }
    >()
    const dir = path.join(d.dataDir, "secrets", projectId)
    const before = new Set(fs.readdirSync(dir))
    // find this registry's file: the newest one holding a token
    const files = [...before].filter((f) => f.endsWith(".sops.yaml")).sort()
    const file = path.join(dir, files.at(-1) ?? "")
    const text = fs.readFileSync(file, "utf8")
    fs.writeFileSync(file, text.replace(/data:([A-Za-z0-9+/=]{4})/, (_m, g: string) => `data:${g.split("").reverse().join("")}`))
    const result = await runWithSecrets(d, Effect.either(resolveRegistryCredentials(projectId, reg.id)))
    expect(Either.isLeft(result) && result.left._tag).toBe("denia/secrets/SecretUnavailable")
    if (Either.isLeft(result)) {
      expect(result.left.message).toContain(`registry:${reg.id}`)
      expect(result.left.message).not.toContain("tamper-token-value")
    }
  })

  it("toRegistryCredentials refuses a document that does not match the kind", () => {
    expect(toRegistryCredentials("basic", { token: "x" })).toBeUndefined()
    expect(toRegistryCredentials("ecr", { username: "x", password: "y" })).toBeUndefined()
  })
})

describe("roles: registries are Admin-only", () => {
  it("viewer and operator get 403 on every registry endpoint; the project admin passes; another project's admin gets 403", async () => {
    const reg = (await create({ name: "roles", endpoint: "ghcr.io", auth: { kind: "basic", username: "x", password: "role-pass" } })).json<
      { id: string }
    >()
    const calls = [
      { p: base(), method: "GET" },
      { p: base(), method: "POST", json: { name: "roles-new", endpoint: "ghcr.io", auth: { kind: "anonymous" } } },
      { p: `${base()}/${reg.id}`, method: "GET" },
      { p: `${base()}/${reg.id}`, method: "PATCH", json: { endpoint: "ghcr.io" } },
      { p: `${base()}/${reg.id}`, method: "DELETE" }
    ] as const
    for (const role of ["viewer", "operator", "otherAdmin"] as const) {
      for (const c of calls) {
        const r = await call(c.p, { method: c.method, token: tokens[role], ...("json" in c ? { json: c.json } : {}) })
        expect(r.status, `${role} ${c.method} ${c.p}: ${r.text}`).toBe(403)
      }
    }
    expect((await call(base(), { token: tokens.admin })).status).toBe(200)
    expect((await call(`${base()}/${reg.id}`, { token: tokens.admin })).status).toBe(200)
    const created = await call(base(), {
      method: "POST",
      token: tokens.admin,
      json: { name: "by-admin", endpoint: "ghcr.io", auth: { kind: "anonymous" } }
    })
    expect(created.status).toBe(201)
    expect((await call(`${base()}/${reg.id}`, { method: "DELETE", token: tokens.admin })).status).toBe(204)
    expect((await call(base(), { token: null })).status).toBe(401)
  })
})

describe("audit", () => {
  it("records registry changes with metadata only", async () => {
    const reg =
      (await create({ name: "audited", endpoint: "ghcr.io", auth: { kind: "basic", username: "aud", password: "audit-pass-xyz" } })).json<
        { id: string }
      >()
    await call(`${base()}/${reg.id}`, { method: "PATCH", json: { auth: { kind: "token", token: "audit-token-xyz" } } })
    await call(`${base()}/${reg.id}`, { method: "DELETE" })
    const page = await call("/v1/audit?limit=500")
    const entries =
      page.json<{ items: Array<{ action: string; target: string | null; actor: string; details: Record<string, unknown> | null }> }>().items
    const mine = entries.filter((e) => e.target === `registry:${reg.id}`).map((e) => e.action)
    expect(mine.sort()).toEqual(["registry.create", "registry.delete", "registry.update"])
    const update = entries.find((e) => e.target === `registry:${reg.id}` && e.action === "registry.update")
    expect(update?.details).toMatchObject({ projectId, name: "audited", kind: "token", credentialsReplaced: true })
    expect(update?.actor).toBe("admin-token")
    expect(page.text).not.toMatch(/audit-pass-xyz|audit-token-xyz/)
  })
})
