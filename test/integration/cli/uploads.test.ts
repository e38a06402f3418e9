/**
 * `denia uploads <svc>` and `denia deploy <svc> --upload <id>` as the built CLI against a test daemon:
 * the stored uploads are listed newest first, a stored one is deployed again by id (the deployment
 * builds that upload), and refusals come back as one line naming the field.
 */
import { randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { gzipped, tarOf } from "../../support/tarballs.js"
import { postBytes } from "../../support/uploads.js"
import { type CliFixture, startCliFixture } from "./support.js"

describe("denia uploads / deploy --upload", () => {
  let f: CliFixture
  let serviceId: string
  const stored: Array<string> = []

  beforeAll(async () => {
    f = await startCliFixture()
    const projects = (await (await f.d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
    const projectId = projects.items.find((p) => p.name === "default")?.id
    const created = await f.d.request("/v1/services", {
      method: "POST",
      json: { projectId, name: "app", source: { type: "upload" }, port: 8080 }
    })
    expect(created.status, await created.clone().text()).toBe(201)
    serviceId = ((await created.json()) as { id: string }).id
    for (let i = 0; i < 2; i++) {
      const body = gzipped(await tarOf([{ name: "Dockerfile", content: `FROM scratch\nCOPY Dockerfile /Dockerfile${i}\n` }]))
      const r = await postBytes(f.d, `/v1/services/${serviceId}/uploads`, body)
      expect(r.status, r.body).toBe(201)
      stored.push((JSON.parse(r.body) as { upload: { id: string } }).upload.id)
    }
  }, 120_000)
  afterAll(async () => {
    await f?.stop()
  })

  it("lists the stored uploads, newest first", async () => {
    const table = await f.cli(["uploads", "app"])
    expect(table.code, table.out).toBe(0)
    const lines = table.out.trim().split("\n")
    expect(lines[0]).toMatch(/^ID\s+SIZE\s+UNPACKED\s+ENTRIES\s+CREATED\s+EXPIRES/)
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([...stored].reverse())
    const json = await f.cli(["uploads", "app", "--json"])
    expect((JSON.parse(json.out) as { items: Array<{ id: string; entries: number }> }).items.map((u) => u.entries)).toEqual([1, 1])
  })

  it("deploys a stored upload by id", async () => {
    const id = stored[0] ?? ""
    const r = await f.cli(["deploy", "app", "--upload", id, "--no-follow", "--json"])
    expect(r.code, r.out).toBe(0)
    const dep = JSON.parse(r.out) as { serviceId: string; imageRef: string }
    expect(dep.serviceId).toBe(serviceId)
    expect(dep.imageRef).toMatch(new RegExp(`/default/app:upload-${id}$`))
  })

  it("refuses an unknown upload, and --upload with --image, in one line naming the field", async () => {
    const unknown = await f.cli(["deploy", "app", "--upload", randomUUID(), "--no-follow"])
    expect(unknown.code).toBe(1)
    expect(unknown.out).toMatch(/uploadId: /)
    expect(unknown.out.trim().split("\n")).toHaveLength(1)
    const both = await f.cli(["deploy", "app", "--upload", stored[0] ?? "", "--image", "busybox", "--no-follow"])
    expect(both.code).toBe(1)
    expect(both.out).toMatch(/--upload cannot be combined with --image/)
  })
})
