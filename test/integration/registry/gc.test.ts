/** Garbage collection: what it keeps (referenced, young, linked to an open upload) and what it frees. */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Fixture, pushBlob, pushImage, runGc, sqlOnDaemonDb, startFixture } from "./support.js"

let f: Fixture
beforeAll(async () => {
  f = await startFixture()
  const shop = await f.project("shop")
  await f.service(shop, "web")
  await f.service(shop, "api")
}, 60_000)
afterAll(() => f.d.stop())

const blobFile = (digest: string) => path.join(f.d.dataDir, "registry", "blobs", "sha256", digest.slice("sha256:".length))
const backdateAll = () => sqlOnDaemonDb(f, "UPDATE registry_blobs SET created_at = '2000-01-01T00:00:00.000Z'")

describe("registry GC", () => {
  it("keeps referenced, young and open-upload blobs; frees unreferenced old ones; expires abandoned uploads", async () => {
    const kept = await pushImage(f, "shop/web", "keep", ["kept layer ".repeat(100)])
    const dropped = await pushImage(f, "shop/web", "drop", ["dropped layer ".repeat(200)])
    const stray = await pushBlob(f, "shop/web", "stray blob ".repeat(50))
    expect((await f.v2(`/v2/shop/web/manifests/${dropped.digest}`, { method: "DELETE" })).status).toBe(202)

    // shop/api has a push in progress: its already-uploaded blob must survive
    const inFlight = await pushBlob(f, "shop/api", "uploaded before the manifest")
    const session = await f.v2("/v2/shop/api/blobs/uploads/", { method: "POST" })
    expect(session.status).toBe(202)

    await backdateAll()
    const young = await pushBlob(f, "shop/web", "young blob")

    const run = await runGc(f)
    expect(run.status).toBe("done")
    const expectedGone = [dropped.digest, dropped.configDigest, ...dropped.layers, stray]
    expect(run.blobsDeleted).toBe(expectedGone.length)
    for (const d of expectedGone) expect(fs.existsSync(blobFile(d)), d).toBe(false)
    for (const d of [kept.digest, kept.configDigest, ...kept.layers, young, inFlight]) expect(fs.existsSync(blobFile(d)), d).toBe(true)

    // everything still referenced is still served
    expect((await f.v2("/v2/shop/web/manifests/keep")).status).toBe(200)
    expect((await f.v2(`/v2/shop/web/blobs/${kept.layers[0]}`)).status).toBe(200)
    expect((await f.v2(`/v2/shop/web/blobs/${stray}`)).status).toBe(404)

    // the open session expires once idle past its TTL, and then its repository's blobs are no longer protected
    await sqlOnDaemonDb(f, "UPDATE registry_uploads SET updated_at = '2000-01-01T00:00:00.000Z'")
    await backdateAll()
    const second = await runGc(f)
    expect(second.uploadsExpired).toBe(1)
    expect(fs.existsSync(blobFile(inFlight))).toBe(false)
    expect(fs.existsSync(blobFile(young))).toBe(false)
    expect(fs.existsSync(blobFile(kept.layers[0] ?? ""))).toBe(true)
    expect(await (await f.v2(session.headers.get("location") ?? "")).status).toBe(404)

    const status = (await (await f.d.request("/v1/registry/status")).json()) as { lastGc: { id: string; bytesFreed: number } | null }
    expect(status.lastGc?.id).toBe(second.id)
  })

  it("reports the bytes it freed", async () => {
    const layer = "x".repeat(12_345)
    const img = await pushImage(f, "shop/api", "tmp", [layer])
    const sizes = [img.digest, img.configDigest, ...img.layers].map((d) => fs.statSync(blobFile(d)).size)
    expect((await f.v2(`/v2/shop/api/manifests/${img.digest}`, { method: "DELETE" })).status).toBe(202)
    await backdateAll()
    const run = await runGc(f)
    expect(run.bytesFreed).toBe(sizes.reduce((a, b) => a + b, 0))
    expect(run.blobsDeleted).toBe(3)
  })

  it("a blob shared with a live manifest in another repository is kept", async () => {
    const shared = "shared base layer ".repeat(30)
    const a = await pushImage(f, "shop/web", "a", [shared])
    const b = await pushImage(f, "shop/api", "b", [shared])
    expect(a.layers[0]).toBe(b.layers[0])
    expect((await f.v2(`/v2/shop/api/manifests/${b.digest}`, { method: "DELETE" })).status).toBe(202)
    await backdateAll()
    await runGc(f)
    expect(fs.existsSync(blobFile(a.layers[0] ?? ""))).toBe(true)
    expect((await f.v2(`/v2/shop/web/blobs/${a.layers[0]}`)).status).toBe(200)
  })
})
