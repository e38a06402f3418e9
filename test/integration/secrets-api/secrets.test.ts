import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { layerEnv, resolveLaunchEnv } from "../../../src/secrets/serviceSecrets.js"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { addMember, createProject, createUser, ensureBootstrap, login } from "../../support/identity.js"
import { caller, errorOf, runWithSecrets } from "./helpers.js"

let d: TestDaemon
let call: ReturnType<typeof caller>
let projectId: string
let serviceId: string
const tokens: Record<"viewer" | "operator" | "admin" | "outsider", string> = { viewer: "", operator: "", admin: "", outsider: "" }

beforeAll(async () => {
  d = await startTestDaemon()
  call = caller(d)
  await ensureBootstrap(d, "root")
  const p = await call("/v1/projects", {
    method: "POST",
    json: { name: "sec", sharedEnv: { SHARED: "project", LEVEL: "project", DB_URL: "project-db" } }
  })
  projectId = p.json<{ id: string }>().id
  const s = await call("/v1/services", {
    method: "POST",
    json: {
      projectId,
      name: "api",
      port: 8080,
      source: { type: "image", image: "busybox" },
      env: { LEVEL: "service", DB_URL: "service-db", ONLY_SERVICE: "1" }
    }
  })
  serviceId = s.json<{ id: string }>().id
  for (const role of ["viewer", "operator", "admin"] as const) {
    const u = await createUser(d, `sec-${role}`)
    await addMember(d, projectId, u.id, role)
    tokens[role] = (await login(d, `sec-${role}`)).token
  }
  const other = await createProject(d, "sec-other")
  const outsider = await createUser(d, "sec-outsider")
  await addMember(d, other.id, outsider.id, "admin")
  tokens.outsider = (await login(d, "sec-outsider")).token
}, 60_000)
afterAll(() => d.stop())

const url = () => `/v1/services/${serviceId}/secrets`

describe("age key file", () => {
  it("is created on first boot with mode 0600, outside the data dir", () => {
    const keyFile = d.config.paths.ageKeyFile
    expect(fs.existsSync(keyFile)).toBe(true)
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600)
    expect(path.relative(d.dataDir, keyFile).startsWith("..")).toBe(true)
    expect(fs.readFileSync(keyFile, "utf8")).toMatch(/^AGE-SECRET-KEY-1/m)
  })
})

describe("service secrets API", () => {
  it("set (201), list names + updatedAt only, replace, delete", async () => {
    const set = await call(url(), { method: "POST", json: { name: "DB_PASSWORD", value: "pw-one" } })
    expect(set.status, set.text).toBe(201)
    const info = set.json<Record<string, unknown>>()
    expect(Object.keys(info).sort()).toEqual(["name", "updatedAt"])
    expect(info["name"]).toBe("DB_PASSWORD")
    expect(set.text).not.toContain("pw-one")

    expect((await call(url(), { method: "POST", json: { name: "API_KEY", value: "key-one" } })).status).toBe(201)
    const list = await call(url())
    expect(list.status).toBe(200)
    const items = list.json<{ items: Array<Record<string, unknown>> }>().items
    expect(items.map((i) => i["name"])).toEqual(["API_KEY", "DB_PASSWORD"])
    for (const item of items) expect(Object.keys(item).sort()).toEqual(["name", "updatedAt"])
    expect(list.text).not.toMatch(/pw-one|key-one/)

    // one file per secret under secrets/<project>/, mode 0600
    const dir = path.join(d.dataDir, "secrets", projectId)
    const files = () => fs.readdirSync(dir).filter((f) => f.endsWith(".sops.yaml"))
    expect(files()).toHaveLength(2)
    for (const f of files()) expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o600)

    // replacing keeps one file for the name
    const replaced = await call(url(), { method: "POST", json: { name: "DB_PASSWORD", value: "pw-two" } })
    expect(replaced.status).toBe(201)
    expect(files()).toHaveLength(2)

    expect((await call(`${url()}/API_KEY`, { method: "DELETE" })).status).toBe(204)
    expect((await call(`${url()}/API_KEY`, { method: "DELETE" })).status).toBe(404)
    expect(files()).toHaveLength(1)
    expect(
      (await call(url())).json<{ items: Array<{ name: string }> }>().items.map((i) => i.name)
    ).toEqual(["DB_PASSWORD"])
  })

  it("validates the name as an environment variable name and bounds the value", async () => {
    for (const name of ["", "1ABC", "WITH-DASH", "WITH SPACE", "A=B", "X".repeat(257)]) {
      const r = await call(url(), { method: "POST", json: { name, value: "leak-check-value" } })
      expect(r.status, name).toBe(400)
      expect(errorOf(r).message).toMatch(/^name: must be an environment variable name/)
      expect(r.text).not.toContain("leak-check-value")
    }
    const nul = await call(url(), { method: "POST", json: { name: "OK_NAME", value: "leak-check\u0000value" } })
    expect(nul.status).toBe(400)
    expect(errorOf(nul).message).toBe("value: must not contain NUL")
    const big = await call(url(), { method: "POST", json: { name: "OK_NAME", value: "v".repeat(33 * 1024) } })
    expect(big.status).toBe(400)
    const missing = await call(url(), { method: "POST", json: { name: "OK_NAME" } })
    expect(missing.status).toBe(400)
    expect(errorOf(missing).message).toMatch(/^value: /)
    const extra = await call(url(), { method: "POST", json: { name: "OK_NAME", value: "leak-check-value", ref: "x" } })
    expect(extra.status).toBe(400)
    expect(extra.text).not.toContain("leak-check-value")
  })

  it("404 for an unknown service", async () => {
    const unknown = "/v1/services/0190c8a4-0000-7000-8000-000000000000/secrets"
    expect((await call(unknown)).status).toBe(404)
    expect((await call(unknown, { method: "POST", json: { name: "A", value: "b" } })).status).toBe(404)
  })
})

describe("roles: secrets need Operator", () => {
  it("viewer and outsiders get 403 on list, set and delete; operator and admin pass", async () => {
    for (const who of ["viewer", "outsider"] as const) {
      const token = tokens[who]
      expect((await call(url(), { token })).status, who).toBe(403)
      expect((await call(url(), { method: "POST", token, json: { name: "ROLE_SECRET", value: "role-value" } })).status, who).toBe(403)
      expect((await call(`${url()}/DB_PASSWORD`, { method: "DELETE", token })).status, who).toBe(403)
    }
    expect((await call(url(), { token: null })).status).toBe(401)
    for (const who of ["operator", "admin"] as const) {
      const token = tokens[who]
      expect((await call(url(), { method: "POST", token, json: { name: `BY_${who.toUpperCase()}`, value: "role-value" } })).status, who)
        .toBe(201)
      expect((await call(url(), { token })).status, who).toBe(200)
      expect((await call(`${url()}/BY_${who.toUpperCase()}`, { method: "DELETE", token })).status, who).toBe(204)
    }
  })
})

describe("resolveLaunchEnv", () => {
  it("layers base (image) env < platform env < project shared env < service env < secrets", async () => {
    await call(url(), { method: "POST", json: { name: "DB_URL", value: "secret-db" } })
    await call(url(), { method: "POST", json: { name: "PORT", value: "9999" } })
    const env = await runWithSecrets(
      d,
      Effect.flatMap(ServicesRepo, (repo) => repo.get(serviceId)).pipe(
        Effect.flatMap((service) =>
          resolveLaunchEnv(service, { DENIA_DEPLOYMENT: "dep-1", SHARED: "image", IMAGE_ONLY: "img", DENIA_SERVICE: "image" })
        )
      )
    )
    expect(env).toEqual({
      PORT: "9999", // platform default (8080) overridden by a secret
      DENIA_PROJECT: "sec",
      DENIA_SERVICE: "api", // platform beats the image
      DENIA_DEPLOYMENT: "dep-1", // base env passes through
      IMAGE_ONLY: "img",
      SHARED: "project", // project beats the image
      LEVEL: "service", // service beats project
      ONLY_SERVICE: "1",
      DB_URL: "secret-db", // secret beats service and project
      DB_PASSWORD: "pw-two"
    })
    await call(`${url()}/PORT`, { method: "DELETE" })
    const again = await runWithSecrets(
      d,
      Effect.flatMap(Effect.flatMap(ServicesRepo, (repo) => repo.get(serviceId)), (s) => resolveLaunchEnv(s, { PORT: "3000" }))
    )
    expect(again["PORT"]).toBe("8080") // the image's PORT never beats the service port
  })

  it("a missing secret file fails with SecretUnavailable naming service and variable, not the value", async () => {
    await call(`/v1/services`, {
      method: "POST",
      json: { projectId, name: "broken", port: 80, source: { type: "image", image: "busybox" } }
    })
    const broken = (await call(`/v1/services?projectId=${projectId}`)).json<{ items: Array<{ id: string; name: string }> }>().items.find((
      s
    ) => s.name === "broken")
    const id = broken?.id ?? ""
    const dir = path.join(d.dataDir, "secrets", projectId)
    const before = new Set(fs.readdirSync(dir))
    await call(`/v1/services/${id}/secrets`, { method: "POST", json: { name: "GONE", value: "gone-value" } })
    const added = fs.readdirSync(dir).filter((f) => !before.has(f))
    expect(added).toHaveLength(1)
    fs.rmSync(path.join(dir, added[0] ?? ""))
    const result = await runWithSecrets(
      d,
      Effect.either(Effect.flatMap(Effect.flatMap(ServicesRepo, (repo) => repo.get(id)), (s) => resolveLaunchEnv(s)))
    )
    expect(Either.isLeft(result) && result.left._tag).toBe("denia/secrets/SecretUnavailable")
    if (Either.isLeft(result)) {
      expect(result.left.message).toContain(`service:${id}/GONE`)
      expect(result.left.message).not.toContain("gone-value")
    }
  })

  it("layerEnv treats every key as a plain name", () => {
    const env = layerEnv(
      { __proto__: "x" } as unknown as Record<string, string>,
      JSON.parse("{\"__proto__\":\"y\",\"A\":\"1\"}") as Record<string, string>
    )
    expect(Object.getPrototypeOf(env)).toBe(Object.prototype)
    expect(env["A"]).toBe("1")
  })
})

describe("service deletion", () => {
  it("removes the service's secret files with it", async () => {
    const s = await call("/v1/services", {
      method: "POST",
      json: { projectId, name: "temp", port: 80, source: { type: "image", image: "busybox" } }
    })
    const id = s.json<{ id: string }>().id
    const dir = path.join(d.dataDir, "secrets", projectId)
    const before = fs.readdirSync(dir).length
    await call(`/v1/services/${id}/secrets`, { method: "POST", json: { name: "T1", value: "t1" } })
    await call(`/v1/services/${id}/secrets`, { method: "POST", json: { name: "T2", value: "t2" } })
    expect(fs.readdirSync(dir).length).toBe(before + 2)
    expect((await call(`/v1/services/${id}`, { method: "DELETE" })).status).toBe(204)
    expect(fs.readdirSync(dir).length).toBe(before)
  })
})

describe("audit", () => {
  it("records secret set/delete with the name only", async () => {
    await call(url(), { method: "POST", json: { name: "AUDITED", value: "audited-value-1" } })
    await call(url(), { method: "POST", json: { name: "AUDITED", value: "audited-value-2" }, token: tokens.operator })
    await call(`${url()}/AUDITED`, { method: "DELETE" })
    const page = await call("/v1/audit?limit=500")
    const entries = page
      .json<{ items: Array<{ action: string; target: string | null; actor: string; details: Record<string, unknown> | null }> }>()
      .items.filter((e) => e.target === `service:${serviceId}` && e.details?.["name"] === "AUDITED")
    expect(entries.map((e) => e.action).sort()).toEqual(["secret.delete", "secret.set", "secret.set"])
    const byOperator = entries.find((e) => e.actor === "user:sec-operator")
    expect(byOperator?.details).toEqual({ projectId, name: "AUDITED", replaced: true })
    expect(page.text).not.toMatch(/audited-value/)
  })
})
