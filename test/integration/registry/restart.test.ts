/** State that outlives the daemon: an upload resumed after a restart, and registry rows that go with their service. */
import { Effect, Exit, Layer, Scope } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { daemonLayer } from "../../../src/daemon/layers.js"
import { ADMIN_TOKEN, makeRequest, testConfig } from "../../support/daemon.js"
import { makeTempDir } from "../../support/tempDir.js"
import { pushImage, runGc, sha256, sqlOnDaemonDb, startFixture } from "./support.js"

const temp = makeTempDir()
afterAll(() => temp.cleanup())

const boot = async (config: Awaited<ReturnType<typeof testConfig>>) => {
  const scope = await Effect.runPromise(Scope.make())
  await Effect.runPromise(Layer.buildWithScope(daemonLayer(config), scope))
  return { close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

describe("registry state across restarts", () => {
  it("a chunked upload started before a restart resumes and completes after it", async () => {
    const config = await testConfig(temp.dir)
    const url = `http://${config.values.bindAddr}`
    const request = makeRequest(url)
    const v2 = (p: string, init: RequestInit = {}) =>
      fetch(`${url}${p}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers ?? {}) } })
    const data = randomBytes(600_000)

    const first = await boot(config)
    let location: string
    try {
      const projects = (await (await request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
      const projectId = projects.items.find((p) => p.name === "default")?.id
      const created = await request("/v1/services", {
        method: "POST",
        json: { projectId, name: "web", source: { type: "hosted", tag: "latest" }, port: 8080 }
      })
      expect(created.status).toBe(201)
      const start = await v2("/v2/default/web/blobs/uploads/", { method: "POST" })
      location = start.headers.get("location") ?? ""
      const c1 = await v2(location, { method: "PATCH", body: data.subarray(0, 250_000), headers: { "content-range": "0-249999" } })
      expect(c1.status).toBe(202)
    } finally {
      await first.close()
    }

    // bytes a crashed chunk left behind without being acknowledged
    fs.appendFileSync(path.join(config.paths.registry, "uploads", location.split("/").at(-1) ?? ""), "garbage after a crash")

    const second = await boot(config)
    try {
      const status = await v2(location)
      expect(status.status).toBe(204)
      expect(status.headers.get("range")).toBe("0-249999")
      const c2 = await v2(location, {
        method: "PATCH",
        body: data.subarray(250_000),
        headers: { "content-range": `250000-${data.length - 1}` }
      })
      expect(c2.status).toBe(202)
      const put = await v2(`${location}?digest=${sha256(data)}`, { method: "PUT" })
      expect(put.status).toBe(201)
      const got = Buffer.from(await (await v2(`/v2/default/web/blobs/${sha256(data)}`)).arrayBuffer())
      expect(got.equals(data)).toBe(true)
    } finally {
      await second.close()
    }
  })

  it("deleting a service drops its repository; GC then frees its blobs", async () => {
    const f = await startFixture()
    try {
      const shop = await f.project("shop")
      const serviceId = await f.service(shop, "tmp")
      const img = await pushImage(f, "shop/tmp", "v1", ["service layer"])
      expect((await f.d.request(`/v1/services/${serviceId}`, { method: "DELETE" })).status).toBe(204)
      expect((await f.v2("/v2/shop/tmp/manifests/v1")).status).toBe(404)
      const rows = await sqlOnDaemonDb(f, "SELECT COUNT(*) AS n FROM registry_manifests")
      expect(rows[0]?.["n"]).toBe(0)
      await sqlOnDaemonDb(f, "UPDATE registry_blobs SET created_at = '2000-01-01T00:00:00.000Z'")
      const run = await runGc(f)
      expect(run.blobsDeleted).toBe(3)
      for (const d of [img.digest, img.configDigest, ...img.layers]) {
        expect(fs.existsSync(path.join(f.d.dataDir, "registry", "blobs", "sha256", d.slice(7)))).toBe(false)
      }
    } finally {
      await f.d.stop()
    }
  })
})
