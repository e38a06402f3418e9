/** Issue 13 item 3: request strings have maximum lengths, refused with a 400 naming the field. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"

let d: TestDaemon
let projectId: string
beforeAll(async () => {
  d = await startTestDaemon()
  const list = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
  projectId = list.items.find((p) => p.name === "default")?.id ?? ""
})
afterAll(() => d.stop())

const message = async (r: Response) => ((await r.json()) as { error: { message: string } }).error.message

describe("string and collection limits", () => {
  it("login: a password over 1 KiB or a username no account can have → 400 naming the field (not a hash of megabytes)", async () => {
    const pw = await d.request("/v1/auth/login", { method: "POST", token: null, json: { username: "someone", password: "p".repeat(1025) } })
    expect(pw.status).toBe(400)
    expect(await message(pw)).toMatch(/^password: must be at most 1024 characters/)
    const user = await d.request("/v1/auth/login", {
      method: "POST",
      token: null,
      json: { username: "u".repeat(64), password: "p".repeat(20) }
    })
    expect(user.status).toBe(400)
    expect(await message(user)).toMatch(/^username: /)
    // within the limits: an ordinary failed login
    const wrong = await d.request("/v1/auth/login", {
      method: "POST",
      token: null,
      json: { username: "someone", password: "p".repeat(1024) }
    })
    expect(wrong.status).toBe(401)
  })

  it("env maps hold at most 1024 variables", async () => {
    const env = Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`K${i}`, "v"]))
    const r = await d.request("/v1/projects", { method: "POST", json: { name: "many-env", sharedEnv: env } })
    expect(r.status).toBe(400)
    expect(await message(r)).toMatch(/^sharedEnv: must have at most 1024 variables/)
  })

  it("a git url over 2048 characters → 400 naming source.url", async () => {
    const r = await d.request("/v1/services", {
      method: "POST",
      json: { projectId, name: "long-git", source: { type: "git", url: `https://example.test/${"a".repeat(3000)}` }, port: 8080 }
    })
    expect(r.status).toBe(400)
    expect(await message(r)).toMatch(/^source\.url: git url must be at most 2048 characters/)
  })

  it("a domain hostname over 253 characters → 400 naming hostname", async () => {
    const svc = await d.request("/v1/services", {
      method: "POST",
      json: { projectId, name: "dom", source: { type: "image", image: "busybox:1.36" }, port: 8080 }
    })
    const { id } = (await svc.json()) as { id: string }
    const r = await d.request(`/v1/services/${id}/domains`, { method: "POST", json: { hostname: `${"a".repeat(60)}.`.repeat(5) + "test" } })
    expect(r.status).toBe(400)
    expect(await message(r)).toMatch(/^hostname: /)
  })
})
