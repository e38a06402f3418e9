/**
 * Deploying a stored upload by id (`POST /v1/services/{id}/deployments` with `{uploadId}`) and listing a
 * service's stored uploads (`GET /v1/services/{id}/uploads`): the refusals name their field (unknown
 * upload, another service's upload → 404 `uploadId:`; a non-upload service → 409 `source:`; with `image`
 * too → 400 `uploadId:`), and an accepted one queues a deployment that builds that upload.
 */
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { waitForDeployment } from "../../support/deployments.js"
import { gzipped, tarOf } from "../../support/tarballs.js"
import { postBytes } from "../../support/uploads.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("deploy-by-upload-id build test skipped: it needs root (buildah)")

interface StoredUpload {
  id: string
  bytes: number
  format: string
  entries: number
  unpackedBytes: number
  createdAt: string
  expiresAt: string
}

describe("deploy a stored upload by id", () => {
  let d: TestDaemon
  let projectId: string
  const ids: Record<string, string> = {}

  const createService = async (name: string, source: Record<string, unknown>) => {
    const r = await d.request("/v1/services", { method: "POST", json: { projectId, name, source, port: 8080 } })
    expect(r.status, await r.clone().text()).toBe(201)
    return ((await r.json()) as { id: string }).id
  }
  const upload = async (serviceId: string) => {
    const body = gzipped(await tarOf([{ name: "Dockerfile", content: "FROM scratch\nCOPY Dockerfile /Dockerfile\n" }]))
    const r = await postBytes(d, `/v1/services/${serviceId}/uploads`, body)
    expect(r.status, r.body).toBe(201)
    return (JSON.parse(r.body) as { upload: StoredUpload }).upload
  }
  const deploy = (serviceId: string, body: unknown) => d.request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: body })
  const errorOf = async (r: Response) => ((await r.json()) as { error: { message: string } }).error.message

  beforeAll(async () => {
    d = await startTestDaemon()
    const projects = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
    projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
    ids["app"] = await createService("app", { type: "upload" })
    ids["other"] = await createService("other", { type: "upload" })
    ids["img"] = await createService("img", { type: "image", image: "busybox" })
  }, 120_000)
  afterAll(async () => {
    await d?.stop()
  })

  it("lists the service's stored uploads, newest first, and only its own", async () => {
    const empty = await d.request(`/v1/services/${ids["app"]}/uploads`)
    expect(empty.status).toBe(200)
    expect(await empty.json()).toEqual({ items: [] })
    const first = await upload(ids["app"] ?? "")
    const second = await upload(ids["app"] ?? "")
    const r = await d.request(`/v1/services/${ids["app"]}/uploads`)
    expect(r.status).toBe(200)
    const list = (await r.json()) as { items: Array<StoredUpload> }
    expect(list.items.map((u) => u.id)).toEqual([second.id, first.id])
    expect(list.items[0]).toEqual({
      id: second.id,
      bytes: second.bytes,
      format: "gzip",
      entries: 1,
      unpackedBytes: second.unpackedBytes,
      createdAt: second.createdAt,
      expiresAt: second.expiresAt
    })
    expect(Date.parse(list.items[0]?.expiresAt ?? "")).toBeGreaterThan(Date.parse(list.items[0]?.createdAt ?? ""))
    expect(await (await d.request(`/v1/services/${ids["other"]}/uploads`)).json()).toEqual({ items: [] })
    expect((await d.request(`/v1/services/${randomUUID()}/uploads`)).status).toBe(404)
  })

  it("refuses an unknown upload, another service's upload, a non-upload service and uploadId with image, naming the field", async () => {
    const mine = await upload(ids["app"] ?? "")
    const unknown = await deploy(ids["app"] ?? "", { uploadId: randomUUID() })
    expect(unknown.status).toBe(404)
    expect(await errorOf(unknown)).toMatch(/^uploadId: /)
    const notAnId = await deploy(ids["app"] ?? "", { uploadId: "../../etc/passwd" })
    expect(notAnId.status).toBe(404)
    expect(await errorOf(notAnId)).toMatch(/^uploadId: /)
    const foreign = await deploy(ids["other"] ?? "", { uploadId: mine.id })
    expect(foreign.status).toBe(404)
    expect(await errorOf(foreign)).toMatch(/^uploadId: /)
    const imageService = await deploy(ids["img"] ?? "", { uploadId: mine.id })
    expect(imageService.status).toBe(409)
    expect(await errorOf(imageService)).toMatch(/^source: /)
    const both = await deploy(ids["app"] ?? "", { uploadId: mine.id, image: "busybox" })
    expect(both.status).toBe(400)
    expect(await errorOf(both)).toMatch(/^uploadId: cannot be combined with image/)
    // nothing was queued by any of them
    const listed = (await (await d.request(`/v1/services/${ids["app"]}/deployments`)).json()) as { items: Array<unknown> }
    expect(listed.items).toEqual([])
  })

  it.runIf(privileged)("queues a deployment that builds the named upload", async () => {
    const stored = await upload(ids["app"] ?? "")
    const r = await deploy(ids["app"] ?? "", { uploadId: stored.id })
    expect(r.status, await r.clone().text()).toBe(202)
    const dep = (await r.json()) as { id: string; imageRef: string; serviceId: string }
    expect(dep.serviceId).toBe(ids["app"])
    expect(dep.imageRef).toMatch(new RegExp(`/default/app:upload-${stored.id}$`))
    // the context has no command to run: the build of this upload's Dockerfile runs, then the start fails
    await waitForDeployment(d, dep.id, 300_000)
    const log = fs.readFileSync(path.join(d.dataDir, "logs", "deployments", `${dep.id}.log`), "utf8")
    expect(log).toMatch(/BUILDING STEP 1\/2: FROM scratch/)
    expect(log).toMatch(/BUILDING STEP 2\/2: COPY Dockerfile \/Dockerfile/)
  }, 320_000)
})
