/**
 * What a refused /v2 request leaves behind, against a real daemon: a refused
 * manifest writes nothing under <data_dir>/registry, and an error body stays
 * small whatever the request carried (huge digests, names, tags, lists of
 * missing blobs).
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Fixture, pushBlob, sha256, sqlOnDaemonDb, startFixture } from "../registry/support.js"

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
let f: Fixture

beforeAll(async () => {
  f = await startFixture()
  const p = await f.project("shop")
  await f.service(p, "web")
}, 60_000)
afterAll(() => f.d.stop())

/** Every file under <data_dir>/registry, relative. */
const registryFiles = (): Array<string> => {
  const root = path.join(f.d.dataDir, "registry")
  const out: Array<string> = []
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else out.push(path.relative(root, p))
    }
  }
  walk(root)
  return out.sort()
}

const blobRecord = async (digest: string) => (await sqlOnDaemonDb(f, `SELECT digest FROM registry_blobs WHERE digest = '${digest}'`)).length

const imageManifest = (configDigest: string, configSize: number, layers: ReadonlyArray<string>) =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: configSize },
    layers: layers.map((digest) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size: 1 }))
  })

const putManifest = (reference: string, body: string | Buffer, contentType = OCI_MANIFEST) =>
  f.v2(`/v2/shop/web/manifests/${reference}`, { method: "PUT", body, headers: { "content-type": contentType } })

describe("refused manifests are never written", () => {
  it("missing referenced blobs, bad JSON, unknown media type, too large: 4xx and no new file or blob record", async () => {
    const config = JSON.stringify({ architecture: "amd64", os: "linux", n: randomBytes(8).toString("hex") })
    const configDigest = await pushBlob(f, "shop/web", config)
    const before = registryFiles()
    const cases: ReadonlyArray<{ body: string | Buffer; type?: string; status: number }> = [
      { body: imageManifest(configDigest, config.length, [sha256(randomBytes(16))]), status: 400 },
      { body: imageManifest(sha256(randomBytes(16)), 10, []), status: 400 },
      { body: `{"schemaVersion": 2, "layers": [${randomBytes(4).toString("hex")}`, status: 400 },
      { body: imageManifest(configDigest, config.length, []), type: "application/vnd.example.unknown+json", status: 400 },
      {
        body: Buffer.concat([Buffer.from(imageManifest(configDigest, config.length, [])), Buffer.alloc(4 * 1024 * 1024, 0x20)]),
        status: 413
      }
    ]
    for (const c of cases) {
      const r = await putManifest("v1", c.body, c.type)
      expect(r.status).toBe(c.status)
      await r.arrayBuffer()
      expect(registryFiles()).toEqual(before)
      expect(await blobRecord(sha256(c.body))).toBe(0)
    }
    // the tag was never created
    expect((await f.v2("/v2/shop/web/manifests/v1")).status).toBe(404)
    // and the valid manifest is stored (one new file: the manifest itself)
    const good = imageManifest(configDigest, config.length, [])
    expect((await putManifest("v1", good)).status).toBe(201)
    expect(registryFiles()).toEqual([...before, `blobs/sha256/${sha256(good).slice(7)}`].sort())
  })
})

describe("error bodies are bounded", () => {
  const small = async (r: Response) => {
    const text = await r.text()
    expect(r.status).toBeGreaterThanOrEqual(400)
    expect(r.status).toBeLessThan(500)
    expect(text.length).toBeLessThan(4096)
    const body = JSON.parse(text) as { errors: Array<{ code: string; message: string }> }
    expect(body.errors[0]?.code).toMatch(/^[A-Z_]+$/)
    return body
  }

  it("a huge digest in the path or the query gets a small error body", async () => {
    const huge = `sha256:${"f".repeat(12_000)}`
    await small(await f.v2(`/v2/shop/web/blobs/${huge}`))
    await small(await f.v2(`/v2/shop/web/blobs/uploads/?digest=${huge}`, { method: "POST", body: "x" }))
    await small(await f.v2(`/v2/shop/web/manifests/${huge}`))
    await small(await f.v2(`/v2/shop/web/referrers/${huge}`))
  })

  it("a huge tag or repository name gets a small error body", async () => {
    await small(await f.v2(`/v2/shop/web/manifests/${"t".repeat(12_000)}`))
    await small(await f.v2(`/v2/${"n".repeat(12_000)}/web/tags/list`))
    await small(await f.v2(`/v2/shop/web/blobs/uploads/${"u".repeat(12_000)}`))
  })

  it("a manifest naming 25 000 missing blobs gets a small error body that counts them", async () => {
    const config = JSON.stringify({ architecture: "amd64", os: "linux", n: randomBytes(8).toString("hex") })
    const configDigest = await pushBlob(f, "shop/web", config)
    const layers = Array.from({ length: 25_000 }, () => sha256(randomBytes(8)))
    const manifest = imageManifest(configDigest, config.length, layers)
    expect(manifest.length).toBeGreaterThan(2 * 1024 * 1024)
    const r = await putManifest("many", manifest)
    expect(r.status).toBe(400)
    const text = await r.text()
    expect(text.length).toBeLessThan(4096)
    const body = JSON.parse(text) as { errors: Array<{ code: string; detail: { missingCount: number } }> }
    expect(body.errors[0]?.code).toBe("MANIFEST_BLOB_UNKNOWN")
    expect(body.errors[0]?.detail.missingCount).toBe(25_000)
  })
})
