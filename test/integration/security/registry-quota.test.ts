/**
 * Hosted-registry storage quotas against a real daemon: per repository and per
 * project, counted over distinct linked blobs, enforced before a byte is read
 * (announced length), while a chunk streams (no length) and when a blob is
 * linked (mount). A refused upload leaves nothing on disk.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_TOKEN, type Fixture, sha256, sqlOnDaemonDb, startFixture } from "../registry/support.js"

const MiB = 1024 * 1024
let f: Fixture

beforeAll(async () => {
  f = await startFixture({ registry_quota_repository_mb: 1, registry_quota_project_mb: 2 })
  const q = await f.project("q")
  for (const s of ["a", "b", "c", "d", "e"]) await f.service(q, s)
  const other = await f.project("other")
  await f.service(other, "a")
  const r = await f.project("r")
  for (const s of ["x", "y"]) await f.service(r, s)
}, 60_000)
afterAll(() => f.d.stop())

interface OciErrorBody {
  readonly errors: ReadonlyArray<{ readonly code: string; readonly message: string; readonly detail: { readonly quota?: string } | null }>
}

const blobsDir = () => path.join(f.d.dataDir, "registry", "blobs", "sha256")
const uploadsDir = () => path.join(f.d.dataDir, "registry", "uploads")
const onDisk = (digest: string) => fs.existsSync(path.join(blobsDir(), digest.slice("sha256:".length)))
const openUploads = async () => Number((await sqlOnDaemonDb(f, "SELECT COUNT(*) AS n FROM registry_uploads"))[0]?.["n"])

const monolithic = (repo: string, bytes: Buffer) =>
  f.v2(`/v2/${repo}/blobs/uploads/?digest=${sha256(bytes)}`, {
    method: "POST",
    body: bytes,
    headers: { "content-type": "application/octet-stream" }
  })

const expectQuotaRefusal = async (r: Response, key: string) => {
  expect(r.status).toBe(413)
  const body = (await r.json()) as OciErrorBody
  expect(body.errors[0]?.code).toBe("DENIED")
  expect(body.errors[0]?.message.startsWith(`${key}:`)).toBe(true)
  expect(body.errors[0]?.detail?.quota).toBe(key)
}

/** PATCH with a chunked body (no Content-Length) streamed in 128 KiB pieces; resolves with the answer. */
const streamChunk = (location: string, total: number): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const url = new URL(location, f.d.url)
    let answered = false
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "PATCH",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/octet-stream" }
      },
      (res) => {
        answered = true
        let body = ""
        res.on("data", (c: Buffer) => (body += c.toString()))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        res.on("error", reject)
      }
    )
    req.on("error", (e) => {
      if (!answered) reject(e)
    })
    const piece = randomBytes(128 * 1024)
    let sent = 0
    const pump = () => {
      while (sent < total && !answered && !req.destroyed) {
        sent += piece.length
        if (!req.write(piece)) {
          req.once("drain", pump)
          return
        }
      }
      if (!answered && !req.destroyed) req.end()
    }
    pump()
  })

describe("repository quota", () => {
  it("a blob announced larger than the repository quota is refused before it is read; nothing is left on disk", async () => {
    const big = randomBytes(Math.round(1.5 * MiB))
    await expectQuotaRefusal(await monolithic("q/a", big), "registry_quota_repository_mb")
    expect(onDisk(sha256(big))).toBe(false)
    expect(fs.readdirSync(uploadsDir())).toEqual([])
    expect(await openUploads()).toBe(0)
  })

  it("a chunk without Content-Length is cut off as it streams past the quota and its session is removed", async () => {
    const start = await f.v2("/v2/q/a/blobs/uploads/", { method: "POST" })
    expect(start.status).toBe(202)
    const location = start.headers.get("location") ?? ""
    const r = await streamChunk(location, 3 * MiB)
    expect(r.status).toBe(413)
    const body = JSON.parse(r.body) as OciErrorBody
    expect(body.errors[0]?.code).toBe("DENIED")
    expect(body.errors[0]?.message).toContain("registry_quota_repository_mb")
    const after = await f.v2(location)
    expect(after.status).toBe(404)
    expect(fs.readdirSync(uploadsDir())).toEqual([])
    expect(await openUploads()).toBe(0)
  })

  it("counts distinct blobs: the same blob pushed again costs nothing, a second distinct one over the quota is refused", async () => {
    const x = randomBytes(Math.round(0.6 * MiB))
    expect((await monolithic("q/a", x)).status).toBe(201)
    // already in the repository: the bytes can only match it
    expect((await monolithic("q/a", x)).status).toBe(201)
    const y = randomBytes(Math.round(0.6 * MiB))
    await expectQuotaRefusal(await monolithic("q/a", y), "registry_quota_repository_mb")
    expect(onDisk(sha256(y))).toBe(false)
    expect(onDisk(sha256(x))).toBe(true)
  })

  it("a cross-repository mount that would exceed the target's quota is refused", async () => {
    const z = randomBytes(Math.round(0.6 * MiB))
    expect((await monolithic("q/b", z)).status).toBe(201)
    // q/a already holds 0.6 MiB
    const mount = await f.v2(`/v2/q/a/blobs/uploads/?mount=${sha256(z)}&from=q/b`, { method: "POST" })
    await expectQuotaRefusal(mount, "registry_quota_repository_mb")
    expect((await f.v2(`/v2/q/a/blobs/${sha256(z)}`, { method: "HEAD" })).status).toBe(404)
  })
})

describe("commit-time check", () => {
  it("a blob linked while an upload was open makes its commit refuse; the session and its bytes are removed", async () => {
    const start = await f.v2("/v2/r/x/blobs/uploads/", { method: "POST" })
    const location = start.headers.get("location") ?? ""
    const data = randomBytes(Math.round(0.6 * MiB))
    const patch = await f.v2(location, { method: "PATCH", body: data, headers: { "content-type": "application/octet-stream" } })
    expect(patch.status).toBe(202)
    // meanwhile another 0.6 MiB lands in r/x by a mount (links do not see open sessions)
    const other = randomBytes(Math.round(0.6 * MiB))
    expect((await monolithic("r/y", other)).status).toBe(201)
    expect((await f.v2(`/v2/r/x/blobs/uploads/?mount=${sha256(other)}&from=r/y`, { method: "POST" })).status).toBe(201)
    await expectQuotaRefusal(await f.v2(`${location}?digest=${sha256(data)}`, { method: "PUT" }), "registry_quota_repository_mb")
    expect((await f.v2(location)).status).toBe(404)
    expect(onDisk(sha256(data))).toBe(false)
    expect(fs.readdirSync(uploadsDir())).toEqual([])
    expect(await openUploads()).toBe(0)
  })
})

describe("project quota", () => {
  it("counts a blob shared by two repositories of the project once, and refuses what would pass the project total", async () => {
    // project q holds x (0.6, in q/a) and z (0.6, in q/b): 1.2 MiB
    const shared = randomBytes(Math.round(0.5 * MiB))
    expect((await monolithic("q/c", shared)).status).toBe(201)
    expect((await monolithic("q/d", shared)).status).toBe(201) // same blob: 1.7 MiB, not 2.2
    const more = randomBytes(Math.round(0.5 * MiB))
    await expectQuotaRefusal(await monolithic("q/e", more), "registry_quota_project_mb")
    expect(onDisk(sha256(more))).toBe(false)
    // another project has its own budget
    expect((await monolithic("other/a", more)).status).toBe(201)
    expect(fs.readdirSync(uploadsDir())).toEqual([])
  })
})
