/** Who may do what on /v2 and /v1/registry: anonymous, viewer, operator, other project, admin token. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_TOKEN, basic, errorCode, type Fixture, pushBlob, pushImage, sha256, startFixture } from "./support.js"

let f: Fixture
let viewer: string
let operator: string
let outsider: string
let shopId: string

beforeAll(async () => {
  f = await startFixture()
  shopId = await f.project("shop")
  const labId = await f.project("lab")
  await f.service(shopId, "web")
  await f.service(labId, "exp")
  viewer = await f.user("victor", { projectId: shopId, role: "viewer" })
  operator = await f.user("olga", { projectId: shopId, role: "operator" })
  outsider = await f.user("oscar", { projectId: labId, role: "admin" })
  await pushImage(f, "shop/web", "v1", ["web layer"])
  await pushImage(f, "lab/exp", "v1", ["lab layer"])
}, 60_000)
afterAll(() => f.d.stop())

describe("authentication", () => {
  it("anonymous requests get 401 UNAUTHORIZED with a Basic challenge", async () => {
    for (const path of ["/v2/", "/v2/_catalog", "/v2/shop/web/tags/list", "/v2/shop/web/manifests/v1"]) {
      const r = await f.v2(path, { auth: null })
      expect(r.status, path).toBe(401)
      expect(r.headers.get("www-authenticate")).toBe("Basic realm=\"Denia Registry\"")
      expect(await errorCode(r)).toBe("UNAUTHORIZED")
    }
    const push = await f.v2(`/v2/shop/web/blobs/uploads/?digest=${sha256("anon")}`, { method: "POST", body: "anon", auth: null })
    expect(push.status).toBe(401)
  })

  it("a wrong token (Bearer or Basic) is 401", async () => {
    expect((await f.v2("/v2/", { auth: `Bearer ${"f".repeat(64)}` })).status).toBe(401)
    expect((await f.v2("/v2/", { auth: basic("not-a-token") })).status).toBe(401)
    expect((await f.v2("/v2/", { auth: "Basic !!!" })).status).toBe(401)
  })

  it("Basic with an API token or the admin token as password works whatever the username; Bearer too", async () => {
    expect((await f.v2("/v2/", { auth: basic(viewer, "anything") })).status).toBe(200)
    expect((await f.v2("/v2/", { auth: basic(ADMIN_TOKEN, "") })).status).toBe(200)
    expect((await f.v2("/v2/", { auth: `Bearer ${operator}` })).status).toBe(200)
  })
})

describe("roles", () => {
  it("a viewer pulls but may not push or delete (DENIED)", async () => {
    const auth = basic(viewer)
    expect((await f.v2("/v2/shop/web/manifests/v1", { auth })).status).toBe(200)
    expect((await f.v2("/v2/shop/web/tags/list", { auth })).status).toBe(200)
    const push = await f.v2(`/v2/shop/web/blobs/uploads/?digest=${sha256("v")}`, { method: "POST", body: "v", auth })
    expect(push.status).toBe(403)
    expect(await errorCode(push)).toBe("DENIED")
    const start = await f.v2("/v2/shop/web/blobs/uploads/", { method: "POST", auth })
    expect(await errorCode(start)).toBe("DENIED")
    const del = await f.v2("/v2/shop/web/manifests/v1", { method: "DELETE", auth })
    expect(del.status).toBe(403)
    const put = await f.v2("/v2/shop/web/manifests/v2", {
      method: "PUT",
      body: "{}",
      auth,
      headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" }
    })
    expect(await errorCode(put)).toBe("DENIED")
  })

  it("an operator pushes and deletes", async () => {
    const auth = basic(operator)
    const digest = await pushBlob(f, "shop/web", "operator blob", auth)
    expect((await f.v2(`/v2/shop/web/blobs/${digest}`, { auth })).status).toBe(200)
    expect((await f.v2(`/v2/shop/web/blobs/${digest}`, { method: "DELETE", auth })).status).toBe(202)
  })

  it("a member of another project is DENIED pull and push; _catalog shows only what the caller may pull", async () => {
    const auth = basic(outsider)
    const pull = await f.v2("/v2/shop/web/manifests/v1", { auth })
    expect(pull.status).toBe(403)
    expect(await errorCode(pull)).toBe("DENIED")
    expect(await errorCode(await f.v2(`/v2/shop/web/blobs/uploads/?digest=${sha256("o")}`, { method: "POST", body: "o", auth }))).toBe(
      "DENIED"
    )
    expect(((await (await f.v2("/v2/_catalog", { auth })).json()) as { repositories: Array<string> }).repositories).toEqual(["lab/exp"])
    expect(((await (await f.v2("/v2/_catalog", { auth: basic(viewer) })).json()) as { repositories: Array<string> }).repositories).toEqual([
      "shop/web"
    ])
    expect(((await (await f.v2("/v2/_catalog")).json()) as { repositories: Array<string> }).repositories).toEqual(["lab/exp", "shop/web"])
  })

  it("mounting from a repository the caller cannot pull falls back to a plain upload", async () => {
    const labBlob = await pushBlob(f, "lab/exp", "lab secret layer")
    const r = await f.v2(`/v2/shop/web/blobs/uploads/?mount=${labBlob}&from=lab/exp`, { method: "POST", auth: basic(operator) })
    expect(r.status).toBe(202)
    expect((await f.v2(`/v2/shop/web/blobs/${labBlob}`, { auth: basic(operator) })).status).toBe(404)
  })
})

describe("/v1/registry", () => {
  it("status and GC are super-admin only", async () => {
    const status = await f.d.request("/v1/registry/status")
    expect(status.status).toBe(200)
    const body = (await status.json()) as {
      repositories: number
      manifests: number
      blobs: number
      blobBytes: number
      gcGraceMinutes: number
    }
    expect(body.repositories).toBeGreaterThanOrEqual(2)
    expect(body.blobs).toBeGreaterThan(0)
    expect(body.gcGraceMinutes).toBe(60)
    expect((await f.d.request("/v1/registry/status", { token: operator })).status).toBe(403)
    expect((await f.d.request("/v1/registry/gc", { method: "POST", token: operator })).status).toBe(403)
    expect((await f.d.request("/v1/registry/status", { token: null })).status).toBe(401)
  })

  it("repositories are filtered by membership", async () => {
    const names = async (token?: string) =>
      ((await (await f.d.request("/v1/registry/repositories", token === undefined ? {} : { token })).json()) as {
        items: Array<{ name: string; tags: number }>
      }).items.map(
        (i) => i.name
      )
    expect(await names()).toEqual(["lab/exp", "shop/web"])
    expect(await names(viewer)).toEqual(["shop/web"])
    expect(await names(outsider)).toEqual(["lab/exp"])
  })
})
