import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { busyboxImage } from "../../../scripts/test-images/images.js"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { buildAndPush } from "../../support/ociImages.js"
import { type RunningRegistry, startRegistry } from "../../support/registry.js"

interface PullStatus {
  id: string
  status: string
  digest?: string
  layersDone: number
  layersTotal: number
  bytes: number
  error?: string
}

describe("OCI pull and cache endpoints", () => {
  let registry: RunningRegistry
  let d: TestDaemon
  let pushedDigest: string

  beforeAll(async () => {
    registry = await startRegistry()
    pushedDigest = (await buildAndPush(busyboxImage(), registry.host, "tools/busybox", "1")).digest
    d = await startTestDaemon({ insecure_registries: [registry.host] })
  }, 120_000)
  afterAll(async () => {
    await d?.stop()
    await registry?.stop()
  })

  const waitPull = async (id: string) => {
    for (let i = 0; i < 300; i++) {
      const s = (await (await d.request(`/v1/oci/pulls/${id}`)).json()) as PullStatus
      if (s.status !== "running") return s
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error("pull did not finish")
  }

  it("pulls an image (202), reports progress and the digest, and the cache shows it", async () => {
    const r = await d.request("/v1/oci/pulls", { method: "POST", json: { image: `${registry.host}/tools/busybox:1` } })
    expect(r.status).toBe(202)
    const started = (await r.json()) as PullStatus
    expect(started.status).toBe("running")
    const done = await waitPull(started.id)
    expect(done, JSON.stringify(done)).toMatchObject({ status: "done", digest: pushedDigest })
    expect(done.layersDone).toBe(done.layersTotal)
    expect(done.bytes).toBeGreaterThan(0)
    const cache = (await (await d.request("/v1/oci/cache")).json()) as { entries: number; totalBytes: number }
    expect(cache.entries).toBeGreaterThan(0)
    expect(cache.totalBytes).toBeGreaterThan(0)
    const gc = await d.request("/v1/oci/cache/gc", { method: "POST" })
    expect(gc.status).toBe(200)
    // fresh blobs are younger than the retention: nothing deleted
    expect(((await gc.json()) as { deleted: number }).deleted).toBe(0)
  })

  it("a failing pull reports the error; unknown pull ids are 404; bad input is 400", async () => {
    const r = await d.request("/v1/oci/pulls", { method: "POST", json: { image: `${registry.host}/tools/missing:1` } })
    const done = await waitPull(((await r.json()) as PullStatus).id)
    expect(done.status).toBe("failed")
    expect(done.error).toBeTruthy()
    expect((await d.request("/v1/oci/pulls/01900000-0000-7000-8000-000000000000")).status).toBe(404)
    expect((await d.request("/v1/oci/pulls", { method: "POST", json: { image: "" } })).status).toBe(400)
    const noProject = await d.request("/v1/oci/pulls", {
      method: "POST",
      json: { image: "x", registryId: "01900000-0000-7000-8000-000000000000" }
    })
    expect(noProject.status).toBe(400)
    expect(await noProject.text()).toMatch(/projectId/)
  })

  it("refuses internal addresses that are not allow-listed (SSRF guard)", async () => {
    const other = await startRegistry()
    try {
      const r = await d.request("/v1/oci/pulls", { method: "POST", json: { image: `${other.host}/tools/busybox:1` } })
      const done = await waitPull(((await r.json()) as PullStatus).id)
      expect(done.status).toBe("failed")
      expect(done.error).toMatch(/refused to connect to 127\.0\.0\.1.*loopback/)
    } finally {
      await other.stop()
    }
  })
})
