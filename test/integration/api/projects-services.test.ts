import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"

let d: TestDaemon
let defaultProjectId: string
beforeAll(async () => {
  d = await startTestDaemon({ api_body_max_kb: 4 })
  const list = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
  defaultProjectId = list.items.find((p) => p.name === "default")?.id ?? ""
})
afterAll(() => d.stop())

const serviceBody = (overrides: Record<string, unknown> = {}) => ({
  projectId: defaultProjectId,
  name: "web",
  source: { type: "image", image: "busybox:1.36" },
  port: 8080,
  ...overrides
})

const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; message: string } }).error

describe("health and auth", () => {
  it("/healthz is public", async () => {
    const r = await d.request("/healthz", { token: null })
    expect(r.status).toBe(200)
    expect(await r.json()).toEqual({ status: "ok" })
  })
  it("/v1 needs a bearer token", async () => {
    expect((await d.request("/v1/projects", { token: null })).status).toBe(401)
    const wrong = await d.request("/v1/projects", { token: "f".repeat(64) })
    expect(wrong.status).toBe(401)
    expect((await errorOf(wrong)).code).toBe("UNAUTHORIZED")
  })
})

describe("projects", () => {
  it("seeds a default project and supports create/get/patch/delete", async () => {
    expect(defaultProjectId).toMatch(/^[0-9a-f-]{36}$/)
    const created = await d.request("/v1/projects", { method: "POST", json: { name: "shop", sharedEnv: { A: "1" } } })
    expect(created.status).toBe(201)
    const p = (await created.json()) as { id: string; name: string; sharedEnv: Record<string, string> }
    expect(p.id.charAt(14)).toBe("7") // UUIDv7
    expect(p.sharedEnv).toEqual({ A: "1" })
    expect((await d.request(`/v1/projects/${p.id}`)).status).toBe(200)
    const patched = await d.request(`/v1/projects/${p.id}`, { method: "PATCH", json: { defaultLimits: { memoryMb: 128 } } })
    expect(((await patched.json()) as { defaultLimits: unknown }).defaultLimits).toEqual({ memoryMb: 128 })
    expect((await d.request("/v1/projects", { method: "POST", json: { name: "shop" } })).status).toBe(409)
    expect((await d.request(`/v1/projects/${p.id}`, { method: "DELETE" })).status).toBe(204)
    expect((await d.request(`/v1/projects/${p.id}`)).status).toBe(404)
  })

  it("refuses to delete a project that still has services (409)", async () => {
    const p = (await (await d.request("/v1/projects", { method: "POST", json: { name: "busy" } })).json()) as { id: string }
    const s = await d.request("/v1/services", { method: "POST", json: serviceBody({ projectId: p.id }) })
    expect(s.status).toBe(201)
    const del = await d.request(`/v1/projects/${p.id}`, { method: "DELETE" })
    expect(del.status).toBe(409)
    expect((await errorOf(del)).message).toMatch(/service/)
    expect((await d.request(`/v1/projects/${p.id}`)).status).toBe(200)
  })
})

describe("services", () => {
  it("create → 201 with a server-minted id and defaults; get, list, patch, delete", async () => {
    const r = await d.request("/v1/services", { method: "POST", json: serviceBody({ name: "api", env: { K: "v" } }) })
    expect(r.status).toBe(201)
    const s = (await r.json()) as Record<string, unknown> & { id: string }
    expect(s).toMatchObject({
      projectId: defaultProjectId,
      name: "api",
      port: 8080,
      env: { K: "v" },
      limits: null,
      health: { type: "http", path: "/", timeoutSeconds: 30 },
      tlsEnabled: false,
      autoscale: null,
      endpoints: [],
      capabilities: {},
      shmMb: 64,
      promotedDeploymentId: null,
      source: { type: "image", image: "busybox:1.36", registryId: null }
    })
    expect((await d.request(`/v1/services/${s.id}`)).status).toBe(200)
    const list = (await (await d.request(`/v1/services?projectId=${defaultProjectId}`)).json()) as { items: Array<{ id: string }> }
    expect(list.items.map((i) => i.id)).toContain(s.id)
    const other = (await (await d.request(`/v1/services?projectId=01900000-0000-7000-8000-000000000000`)).json()) as {
      items: Array<unknown>
    }
    expect(other.items).toEqual([])

    const patched = await d.request(`/v1/services/${s.id}`, { method: "PATCH", json: { id: s.id, port: 9000, tlsEnabled: true } })
    expect(patched.status).toBe(200)
    expect(await patched.json()).toMatchObject({ port: 9000, tlsEnabled: true, env: { K: "v" } })

    const deployments = await d.request(`/v1/services/${s.id}/deployments`)
    expect(await deployments.json()).toEqual({ items: [] })

    expect((await d.request(`/v1/services/${s.id}`, { method: "DELETE" })).status).toBe(204)
    expect((await d.request(`/v1/services/${s.id}`)).status).toBe(404)
  })

  it("accepts every source variant", async () => {
    const sources = [
      { type: "hosted", tag: "v1" },
      { type: "git", url: "https://git.example/app.git", ref: "main", dockerfile: "Dockerfile", context: "." },
      { type: "git", url: "git@git.example:me/app.git" },
      { type: "upload" },
      { type: "image", image: "registry.example:5000/team/app@sha256:" + "a".repeat(64) }
    ]
    for (const [i, source] of sources.entries()) {
      const r = await d.request("/v1/services", { method: "POST", json: serviceBody({ name: `src-${i}`, source }) })
      expect(r.status, JSON.stringify(source)).toBe(201)
    }
  })

  it("duplicate (project, name) → 409", async () => {
    expect((await d.request("/v1/services", { method: "POST", json: serviceBody({ name: "dup" }) })).status).toBe(201)
    const again = await d.request("/v1/services", { method: "POST", json: serviceBody({ name: "dup" }) })
    expect(again.status).toBe(409)
    expect((await errorOf(again)).code).toBe("CONFLICT")
  })

  it("unknown project → 404; unknown service → 404", async () => {
    expect(
      (await d.request("/v1/services", { method: "POST", json: serviceBody({ projectId: "01900000-0000-7000-8000-000000000000" }) })).status
    ).toBe(404)
    expect((await d.request("/v1/services/01900000-0000-7000-8000-000000000000")).status).toBe(404)
    expect((await d.request("/v1/deployments/nope")).status).toBe(404)
  })

  it("PATCH refuses to change identity fields", async () => {
    const s = (await (await d.request("/v1/services", { method: "POST", json: serviceBody({ name: "ident" }) })).json()) as { id: string }
    for (
      const [json, field] of [
        [{ id: "01900000-0000-7000-8000-000000000000" }, "id"],
        [{ name: "other" }, "name"],
        [{ projectId: "01900000-0000-7000-8000-000000000000" }, "projectId"]
      ] as const
    ) {
      const r = await d.request(`/v1/services/${s.id}`, { method: "PATCH", json })
      expect(r.status).toBe(400)
      expect((await errorOf(r)).message).toMatch(new RegExp(`^${field}`))
    }
  })
})

describe("validation: one 400 per invalid field, naming it", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, unknown>, RegExp]> = [
    ["name", { name: "Bad_Name" }, /^name/],
    ["name length", { name: "a".repeat(64) }, /^name/],
    ["port 0", { port: 0 }, /^port/],
    ["port 65536", { port: 65536 }, /^port/],
    ["port float", { port: 80.5 }, /^port/],
    ["env key with =", { env: { "A=B": "x" } }, /^env/],
    ["env empty key", { env: { "": "x" } }, /^env/],
    ["env NUL value", { env: { A: "x\u0000y" } }, /^env/],
    ["limits zero", { limits: { cpuMillis: 0 } }, /^limits\.cpuMillis/],
    ["limits negative", { limits: { memoryMb: -1 } }, /^limits\.memoryMb/],
    ["health path", { health: { path: "healthz" } }, /^health\.path/],
    ["health timeout", { health: { path: "/", timeoutSeconds: 0 } }, /^health\.timeoutSeconds/],
    ["image ref", { source: { type: "image", image: "UPPER/Case::x" } }, /^source/],
    ["source type", { source: { type: "ftp" } }, /^source/],
    ["git url", { source: { type: "git", url: "file:///etc" } }, /^source/],
    ["git dockerfile escape", { source: { type: "git", url: "https://h/r.git", dockerfile: "../x" } }, /^source/],
    ["tlsEnabled", { tlsEnabled: "yes" }, /^tlsEnabled/],
    ["autoscale min>max", { autoscale: { minReplicas: 3, maxReplicas: 1 } }, /^autoscale/],
    ["autoscale cpu", { autoscale: { minReplicas: 0, maxReplicas: 2, cpuTargetPercent: 0 } }, /^autoscale\.cpuTargetPercent/],
    ["endpoint protocol", { endpoints: [{ protocol: "sctp", port: 1 }] }, /^endpoints/],
    ["endpoint port", { endpoints: [{ protocol: "tcp", port: 0 }] }, /^endpoints/],
    ["projectId", { projectId: 42 }, /^projectId/],
    ["unknown field", { prot: 1 }, /^prot/],
    ["id in create body", { id: "01900000-0000-7000-8000-000000000000" }, /^id/],
    ["missing port", { port: undefined }, /^port/],
    ["health type", { health: { type: "grpc" } }, /^health\.type/],
    ["tcp health with a path", { health: { type: "tcp", path: "/" } }, /^health\.path/],
    ["worker with an http check", { port: null, health: { type: "http", path: "/" } }, /^health\.type: a worker \(port: null\)/],
    ["worker with a tcp check", { port: null, health: { type: "tcp" } }, /^health\.type: a worker/],
    ["settle check with a port", { health: { type: "running" } }, /^health\.type: "running" is the check of workers/],
    ["worker settle range", { port: null, health: { type: "running", settleSeconds: 4000 } }, /^health\.settleSeconds/],
    ["worker with tls", { port: null, tlsEnabled: true }, /^tlsEnabled: a worker/],
    ["worker with endpoints", { port: null, endpoints: [{ protocol: "tcp", port: 5432 }] }, /^endpoints: a worker/],
    ["forbidden capability", { capabilities: { add: ["NET_ADMIN", "SYS_ADMIN"] } }, /^capabilities\.add\[1\]: SYS_ADMIN is never granted/],
    ["unknown capability", { capabilities: { add: ["FLY"] } }, /^capabilities\.add\[0\]: FLY is not a capability/],
    ["drop of a non-default", { capabilities: { drop: ["SYS_PTRACE"] } }, /^capabilities\.drop\[0\]/],
    ["capabilities shape", { capabilities: { add: "NET_ADMIN" } }, /^capabilities\.add/],
    ["shmMb zero", { shmMb: 0 }, /^shmMb/],
    ["shmMb over the memory limit", { shmMb: 1024, limits: { memoryMb: 512 } }, /^shmMb: must not exceed limits\.memoryMb/]
  ]
  it.each(cases)("%s", async (_label, override, field) => {
    const body = serviceBody({ name: "valid-name", ...override })
    const r = await d.request("/v1/services", { method: "POST", json: body })
    expect(r.status).toBe(400)
    const e = await errorOf(r)
    expect(e.message).toMatch(field)
  })
})

describe("workers, health kinds and capabilities", () => {
  it("a worker (port null) gets the settle check; PATCH switches kinds; capabilities are stored canonical", async () => {
    const r = await d.request("/v1/services", { method: "POST", json: serviceBody({ name: "jobs", port: null }) })
    expect(r.status).toBe(201)
    const s = (await r.json()) as { id: string }
    expect(await (await d.request(`/v1/services/${s.id}`)).json()).toMatchObject({
      port: null,
      health: { type: "running", settleSeconds: 5 }
    })
    // a worker has no HTTP route to attach a domain to
    const domain = await d.request(`/v1/services/${s.id}/domains`, { method: "POST", json: { hostname: "jobs.example.com" } })
    expect(domain.status).toBe(409)
    expect((await errorOf(domain)).message).toMatch(/worker \(port: null\) and has no HTTP route/)
    const back = await d.request(`/v1/services/${s.id}`, {
      method: "PATCH",
      json: { port: 6379, health: { type: "tcp" }, capabilities: { drop: ["all"], add: ["cap_net_bind_service"] }, shmMb: 128 }
    })
    expect(back.status).toBe(200)
    expect(await back.json()).toMatchObject({
      port: 6379,
      health: { type: "tcp", timeoutSeconds: 30 },
      capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
      shmMb: 128
    })
    const refused = await d.request(`/v1/services/${s.id}`, { method: "PATCH", json: { port: null, health: { type: "tcp" } } })
    expect(refused.status).toBe(400)
    expect((await errorOf(refused)).message).toMatch(/^health\.type: a worker/)
    expect((await d.request(`/v1/services/${s.id}`, { method: "DELETE" })).status).toBe(204)
  })
})

describe("malformed and oversized bodies", () => {
  it("malformed JSON → 400 MALFORMED_JSON", async () => {
    const r = await d.request("/v1/projects", { method: "POST", body: "{bad", headers: { "content-type": "application/json" } })
    expect(r.status).toBe(400)
    expect((await errorOf(r)).code).toBe("MALFORMED_JSON")
  })
  it("form bodies → 415", async () => {
    const r = await d.request("/v1/projects", {
      method: "POST",
      body: "name=x",
      headers: { "content-type": "application/x-www-form-urlencoded" }
    })
    expect(r.status).toBe(415)
  })
  it("a body over the cap → 413; a JSON body without Content-Length → 411", async () => {
    const big = JSON.stringify({ name: "x", sharedEnv: { A: "x".repeat(8 * 1024) } })
    const r = await d.request("/v1/projects", { method: "POST", body: big, headers: { "content-type": "application/json" } })
    expect(r.status).toBe(413)
    const chunked = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big))
        c.close()
      }
    })
    const r2 = await d.request("/v1/projects", {
      method: "POST",
      body: chunked,
      headers: { "content-type": "application/json" },
      duplex: "half"
    } as RequestInit)
    expect(r2.status).toBe(411)
    const list = (await (await d.request("/v1/projects")).json()) as { items: Array<{ name: string }> }
    expect(list.items.map((p) => p.name)).not.toContain("x")
  })
  it("unknown route → 404 with the error envelope", async () => {
    const r = await d.request("/v1/nope")
    expect(r.status).toBe(404)
    expect((await errorOf(r)).code).toBe("NOT_FOUND")
  })
})
