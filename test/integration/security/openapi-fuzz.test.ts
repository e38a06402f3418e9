/**
 * Walks `/v1/openapi.json` of a real daemon and sends malformed requests to
 * every operation: wrong types per field, missing and extra fields, huge
 * strings, deep nesting, control characters, invalid UTF-8, wrong content
 * types, empty and whitespace bodies. Every answer must come within 2 s
 * (client-side deadline), never be a 5xx, and every error must be the JSON
 * envelope `{"error":{"code","message"}}`; afterwards the daemon still
 * answers and its RSS (the daemon runs in this process) stayed bounded.
 * The request count is fixed by the spec (a few thousand at most).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"

const DEADLINE_MS = 2_000
const MAX_REQUESTS = 4_000
const RSS_GROWTH_LIMIT = 256 * 1024 * 1024
const UNKNOWN_ID = "0190aaaa-0000-7000-8000-000000000000"

interface Operation {
  readonly method: string
  readonly path: string
  readonly hasBody: boolean
  readonly properties: ReadonlyArray<string>
}

interface Case {
  readonly label: string
  readonly body?: string | Uint8Array
  readonly contentType?: string
}

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [k: string]: Json }
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** Property names of a request schema: follows $ref, anyOf/oneOf/allOf one level at a time (bounded). */
const propertiesOf = (schema: unknown, components: Record<string, unknown>, seen = new Set<string>()): Array<string> => {
  if (!isObject(schema)) return []
  const ref = schema["$ref"]
  if (typeof ref === "string") {
    const name = ref.split("/").at(-1) ?? ""
    if (seen.has(name)) return []
    seen.add(name)
    return propertiesOf(components[name], components, seen)
  }
  const own = isObject(schema["properties"]) ? Object.keys(schema["properties"]) : []
  const nested = ["anyOf", "oneOf", "allOf"].flatMap((k) => {
    const list = schema[k]
    return Array.isArray(list) ? list.flatMap((s) => propertiesOf(s, components, seen)) : []
  })
  return [...new Set([...own, ...nested])]
}

const WRONG_VALUES: ReadonlyArray<readonly [string, Json]> = [
  ["number", 12345],
  ["negative float", -1.5e308],
  ["boolean", true],
  ["null", null],
  ["array", [1, "two", null]],
  ["object", { nested: { deeper: [] } }],
  ["huge string", "a".repeat(300_000)],
  ["control chars", "\u0000\u001b[2J\r\n\u0007x"],
  ["empty string", ""],
  ["lone surrogate", "\ud800"],
  ["deep value", JSON.parse("[".repeat(60) + "]".repeat(60)) as Json]
]

const casesFor = (op: Operation): Array<Case> => {
  const json = (label: string, value: unknown): Case => ({ label, body: JSON.stringify(value), contentType: "application/json" })
  const common: Array<Case> = [
    { label: "empty body", body: "", contentType: "application/json" },
    { label: "whitespace body", body: " \n\t\r ", contentType: "application/json" },
    { label: "truncated JSON", body: "{\"a\": [1, 2", contentType: "application/json" },
    { label: "deep arrays", body: "[".repeat(5000) + "]".repeat(5000), contentType: "application/json" },
    { label: "deep objects", body: "{\"a\":".repeat(3000) + "0" + "}".repeat(3000), contentType: "application/json" },
    { label: "invalid UTF-8", body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), contentType: "application/json" },
    { label: "NUL bytes", body: "\u0000\u0000\u0000", contentType: "application/json" },
    { label: "over the body cap", body: JSON.stringify({ x: "b".repeat(1100 * 1024) }), contentType: "application/json" },
    json("null", null),
    json("array", [{}]),
    json("number", 0),
    json("string", "text"),
    json("empty object", {}),
    json("prototype keys", JSON.parse("{\"__proto__\": {\"superAdmin\": true}, \"constructor\": {\"prototype\": {\"x\": 1}}}") as unknown),
    json("unknown fields only", { unexpectedField: "x", another: [1, 2] }),
    { label: "text/plain", body: "{}", contentType: "text/plain" },
    { label: "merge-patch+json", body: "{}", contentType: "application/merge-patch+json" },
    { label: "vnd+json", body: "{}", contentType: "application/vnd.x+json" },
    { label: "jsonx", body: "{}", contentType: "application/jsonx" },
    { label: "form", body: "a=1&b=2", contentType: "application/x-www-form-urlencoded" },
    {
      label: "multipart",
      body: "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n",
      contentType: "multipart/form-data; boundary=x"
    },
    { label: "no content type", body: new TextEncoder().encode("{}") }
  ]
  if (!op.hasBody) return [{ label: "no body" }, ...common.slice(0, 8), common[15] as Case]
  const perField = op.properties.flatMap((p) => WRONG_VALUES.map(([label, v]) => json(`${p}: ${label}`, { [p]: v })))
  const allWrong = WRONG_VALUES.map(([label, v]) => json(`every field ${label}`, Object.fromEntries(op.properties.map((p) => [p, v]))))
  return [...common, ...perField, ...allWrong]
}

let d: TestDaemon
let ids: Record<string, string> = {}
let sessionToken = ""
/** Logout revokes the session it is sent with: it gets its own. */
let logoutToken = ""

/** Plausible ids for path parameters: real ones for read-only and body-checked runs, an unknown one otherwise. */
const fillPath = (template: string, real: boolean): string =>
  template.replace(/\{(\w+)\}|:(\w+)/g, (_m, a: string | undefined, b: string | undefined) => {
    const name = a ?? b ?? ""
    const before = template.slice(0, template.indexOf(name)).split("/").filter(Boolean).at(-1) ?? ""
    if (name === "name") return "FUZZ_SECRET"
    if (!real) return UNKNOWN_ID
    const key = name === "id" ? before : name
    return ids[key] ?? UNKNOWN_ID
  })

beforeAll(async () => {
  d = await startTestDaemon()
  const list = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
  const projectId = list.items.find((p) => p.name === "default")?.id ?? ""
  const service = (await (
    await d.request("/v1/services", {
      method: "POST",
      json: { projectId, name: "fuzz", source: { type: "image", image: "busybox:1.36" }, port: 8080 }
    })
  ).json()) as { id: string }
  await d.request("/v1/bootstrap", { method: "POST", json: { username: "fuzz-admin", password: "fuzz-admin-password" } })
  const user =
    (await (await d.request("/v1/users", { method: "POST", json: { username: "fuzz-user", password: "fuzz-user-password" } })).json()) as {
      id: string
    }
  const registry = (await (
    await d.request(`/v1/projects/${projectId}/registries`, {
      method: "POST",
      json: { name: "fuzz-reg", endpoint: "registry.invalid:5000", auth: { kind: "anonymous" } }
    })
  ).json()) as { id?: string }
  const login = (await (
    await d.request("/v1/auth/login", { method: "POST", token: null, json: { username: "fuzz-admin", password: "fuzz-admin-password" } })
  ).json()) as { token: string }
  sessionToken = login.token
  const second = (await (
    await d.request("/v1/auth/login", { method: "POST", token: null, json: { username: "fuzz-admin", password: "fuzz-admin-password" } })
  ).json()) as { token: string }
  logoutToken = second.token
  ids = {
    projects: projectId,
    services: service.id,
    users: user.id,
    userId: user.id,
    registries: registry.id ?? UNKNOWN_ID,
    registryId: registry.id ?? UNKNOWN_ID
  }
}, 60_000)
afterAll(() => d.stop())

const send = async (method: string, path: string, c: Case): Promise<{ status: number; contentType: string; text: string }> => {
  // a super-admin's session: the bootstrap admin token is rate-limited per IP (300/min), which would answer 429 before any decoding
  const headers: Record<string, string> = { authorization: `Bearer ${path.endsWith("/logout") ? logoutToken : sessionToken}` }
  if (c.contentType !== undefined) headers["content-type"] = c.contentType
  const signal = AbortSignal.timeout(DEADLINE_MS)
  let r: Response
  try {
    r = await fetch(`${d.url}${path}`, { method, headers, signal, ...(c.body === undefined || method === "GET" ? {} : { body: c.body }) })
  } catch (e) {
    throw new Error(`${method} ${path} [${c.label}]: no answer within ${DEADLINE_MS} ms (${String(e)})`)
  }
  const contentType = r.headers.get("content-type") ?? ""
  if (contentType.startsWith("text/event-stream")) {
    await r.body?.cancel()
    return { status: r.status, contentType, text: "" }
  }
  try {
    return { status: r.status, contentType, text: await r.text() }
  } catch (e) {
    throw new Error(`${method} ${path} [${c.label}]: body not complete within ${DEADLINE_MS} ms (${String(e)})`)
  }
}

const checkAnswer = (what: string, a: { status: number; contentType: string; text: string }): string | undefined => {
  if (a.status >= 500) return `${what}: ${a.status} ${a.text.slice(0, 300)}`
  if (a.status < 400) return undefined
  if (!a.contentType.startsWith("application/json")) return `${what}: ${a.status} with content-type ${a.contentType}`
  try {
    const body = JSON.parse(a.text) as { error?: { code?: unknown; message?: unknown } }
    if (typeof body.error?.code !== "string" || typeof body.error.message !== "string") {
      return `${what}: ${a.status} without the error envelope: ${a.text.slice(0, 200)}`
    }
  } catch {
    return `${what}: ${a.status} with a non-JSON body: ${a.text.slice(0, 200)}`
  }
  return undefined
}

describe("OpenAPI-driven fuzzing of /v1", () => {
  it("no 5xx, no hang, JSON errors everywhere, the daemon stays up with bounded memory", async () => {
    const spec = (await (await d.request("/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: unknown }> } }>>
      components?: { schemas?: Record<string, unknown> }
    }
    const components = spec.components?.schemas ?? {}
    const operations: Array<Operation> = []
    for (const [p, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!["get", "post", "put", "patch", "delete"].includes(method)) continue
        const schema = op.requestBody?.content?.["application/json"]?.schema
        operations.push({
          method: method.toUpperCase(),
          path: p,
          hasBody: op.requestBody !== undefined,
          properties: propertiesOf(schema, components)
        })
      }
    }
    expect(operations.length).toBeGreaterThan(40)
    expect(operations.some((o) => o.path.includes("/auth/login"))).toBe(true)

    const plan: Array<{ method: string; path: string; c: Case }> = []
    for (const op of operations) {
      const cases = casesFor(op)
      // unknown ids for every operation; real ids only where a malformed body cannot reach a destructive handler
      for (const c of cases) plan.push({ method: op.method, path: fillPath(op.path, false), c })
      const destructive = op.method === "DELETE" || (op.method !== "GET" && !op.hasBody) || op.path.endsWith("/logout")
      if (!destructive) { for (const c of cases) plan.push({ method: op.method, path: fillPath(op.path, true), c }) }
    }
    expect(plan.length).toBeLessThanOrEqual(MAX_REQUESTS)

    const rssBefore = process.memoryUsage().rss
    let peak = rssBefore
    const failures: Array<string> = []
    const statuses = new Map<number, number>()
    let next = 0
    const worker = async () => {
      while (next < plan.length) {
        const item = plan[next++]
        if (item === undefined) break
        const what = `${item.method} ${item.path} [${item.c.label}]`
        const answer = await send(item.method, item.path, item.c)
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
        const problem = checkAnswer(what, answer)
        if (problem !== undefined) failures.push(problem)
        if (next % 200 === 0) peak = Math.max(peak, process.memoryUsage().rss)
      }
    }
    await Promise.all([worker(), worker(), worker(), worker()])
    peak = Math.max(peak, process.memoryUsage().rss)

    expect(failures.slice(0, 30)).toEqual([])
    // the requests reached validation: no throttling answered for it, and the bodies were refused as such
    expect(statuses.get(429) ?? 0).toBe(0)
    // (unknown ids are mostly 404s from authorization, which resolves the resource before the body is decoded)
    expect(statuses.get(400) ?? 0).toBeGreaterThan(10 * operations.filter((o) => o.hasBody).length)
    expect(statuses.get(415) ?? 0).toBeGreaterThan(operations.length)
    expect(peak - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT)
    // still up and still serving with the credentials it had
    expect((await d.request("/healthz", { token: null })).status).toBe(200)
    expect((await d.request("/v1/projects", { token: sessionToken })).status).toBe(200)
    expect((await d.request("/v1/me", { token: sessionToken })).status).toBe(200)
  }, 120_000)
})
