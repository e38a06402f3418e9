/** The /v2 protocol over raw HTTP: uploads, blobs, manifests, tags, catalog, referrers and error codes. */
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { errorCode, type Fixture, pushBlob, pushImage, sha256, startFixture } from "./support.js"

let f: Fixture
beforeAll(async () => {
  f = await startFixture()
  const shop = await f.project("shop")
  for (const s of ["web", "api", "chunks", "tags", "mfst", "other"]) await f.service(shop, s)
}, 60_000)
afterAll(() => f.d.stop())

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"

describe("base", () => {
  it("/v2/ answers with the API version header once authenticated", async () => {
    const r = await f.v2("/v2/")
    expect(r.status).toBe(200)
    expect(r.headers.get("docker-distribution-api-version")).toBe("registry/2.0")
    expect(await r.json()).toEqual({})
  })

  it("unknown repository paths: NAME_INVALID for bad names, NAME_UNKNOWN for missing project or service", async () => {
    const bad = await f.v2("/v2/shop/web/extra/manifests/latest")
    expect(bad.status).toBe(400)
    expect(await errorCode(bad)).toBe("NAME_INVALID")
    const noProject = await f.v2("/v2/nope/web/tags/list")
    expect(noProject.status).toBe(404)
    expect(await errorCode(noProject)).toBe("NAME_UNKNOWN")
    const noService = await f.v2("/v2/shop/nope/manifests/latest")
    expect(noService.status).toBe(404)
    const body = (await noService.json()) as { errors: Array<{ code: string; message: string; detail: unknown }> }
    expect(body.errors[0]?.code).toBe("NAME_UNKNOWN")
    expect(body.errors[0]?.message).toMatch(/nope/)
  })
})

describe("blob uploads", () => {
  it("monolithic POST ?digest= stores the blob; HEAD and GET return it with its digest", async () => {
    const data = randomBytes(70_000)
    const digest = sha256(data)
    const r = await f.v2(`/v2/shop/web/blobs/uploads/?digest=${digest}`, { method: "POST", body: data })
    expect(r.status).toBe(201)
    expect(r.headers.get("location")).toBe(`/v2/shop/web/blobs/${digest}`)
    expect(r.headers.get("docker-content-digest")).toBe(digest)
    const head = await f.v2(`/v2/shop/web/blobs/${digest}`, { method: "HEAD" })
    expect(head.status).toBe(200)
    expect(head.headers.get("content-length")).toBe(String(data.length))
    expect(head.headers.get("docker-content-digest")).toBe(digest)
    const get = await f.v2(`/v2/shop/web/blobs/${digest}`)
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true)
  })

  it("GET with Range returns 206 and the slice; an unsatisfiable range is 416", async () => {
    const data = randomBytes(10_000)
    const digest = await pushBlob(f, "shop/web", data)
    const part = await f.v2(`/v2/shop/web/blobs/${digest}`, { headers: { range: "bytes=100-199" } })
    expect(part.status).toBe(206)
    expect(part.headers.get("content-range")).toBe(`bytes 100-199/${data.length}`)
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true)
    const tail = await f.v2(`/v2/shop/web/blobs/${digest}`, { headers: { range: "bytes=-10" } })
    expect(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(data.length - 10))).toBe(true)
    const bad = await f.v2(`/v2/shop/web/blobs/${digest}`, { headers: { range: "bytes=20000-" } })
    expect(bad.status).toBe(416)
    expect(bad.headers.get("content-range")).toBe(`bytes */${data.length}`)
  })

  it("POST then PUT with the whole body", async () => {
    const data = randomBytes(5000)
    const start = await f.v2("/v2/shop/web/blobs/uploads/", { method: "POST" })
    expect(start.status).toBe(202)
    const location = start.headers.get("location") ?? ""
    expect(location).toMatch(/^\/v2\/shop\/web\/blobs\/uploads\/[0-9a-f-]{36}$/)
    expect(start.headers.get("range")).toBe("0-0")
    expect(start.headers.get("docker-upload-uuid")).toBe(location.split("/").at(-1))
    const put = await f.v2(`${location}?digest=${sha256(data)}`, { method: "PUT", body: data })
    expect(put.status).toBe(201)
    expect(put.headers.get("docker-content-digest")).toBe(sha256(data))
    // the session is closed
    expect(await errorCode(await f.v2(location))).toBe("BLOB_UPLOAD_UNKNOWN")
  })

  it("chunked PATCH with Content-Range, status GET, out-of-order chunk 416, resume, PUT to finish", async () => {
    const data = randomBytes(300_000)
    const start = await f.v2("/v2/shop/chunks/blobs/uploads/", { method: "POST" })
    const location = start.headers.get("location") ?? ""
    const c1 = await f.v2(location, {
      method: "PATCH",
      body: data.subarray(0, 100_000),
      headers: { "content-range": "0-99999", "content-type": "application/octet-stream" }
    })
    expect(c1.status).toBe(202)
    expect(c1.headers.get("range")).toBe("0-99999")
    expect(c1.headers.get("location")).toBe(location)

    // out of order: skips bytes 100000..149999
    const gap = await f.v2(location, {
      method: "PATCH",
      body: data.subarray(150_000, 200_000),
      headers: { "content-range": "150000-199999" }
    })
    expect(gap.status).toBe(416)
    expect(gap.headers.get("range")).toBe("0-99999")
    expect(await errorCode(gap)).toBe("RANGE_INVALID")
    // overlapping also refused
    const overlap = await f.v2(location, {
      method: "PATCH",
      body: data.subarray(50_000, 150_000),
      headers: { "content-range": "50000-149999" }
    })
    expect(overlap.status).toBe(416)

    // resume: ask where the session stands, continue from there
    const status = await f.v2(location)
    expect(status.status).toBe(204)
    expect(status.headers.get("range")).toBe("0-99999")
    const c2 = await f.v2(location, {
      method: "PATCH",
      body: data.subarray(100_000, 250_000),
      headers: { "content-range": "100000-249999" }
    })
    expect(c2.status).toBe(202)
    expect(c2.headers.get("range")).toBe("0-249999")
    // a streamed chunk without Content-Range appends too
    const c3 = await f.v2(location, { method: "PATCH", body: data.subarray(250_000, 290_000) })
    expect(c3.headers.get("range")).toBe("0-289999")
    const put = await f.v2(`${location}?digest=${sha256(data)}`, { method: "PUT", body: data.subarray(290_000) })
    expect(put.status).toBe(201)
    const get = await f.v2(`/v2/shop/chunks/blobs/${sha256(data)}`)
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true)
  })

  it("a chunk whose Content-Range length disagrees with its body is refused and leaves the session unchanged", async () => {
    const start = await f.v2("/v2/shop/chunks/blobs/uploads/", { method: "POST" })
    const location = start.headers.get("location") ?? ""
    const short = await f.v2(location, { method: "PATCH", body: randomBytes(10), headers: { "content-range": "0-99" } })
    expect(short.status).toBe(400)
    expect(await errorCode(short)).toBe("SIZE_INVALID")
    expect((await f.v2(location)).headers.get("range")).toBe("0-0")
    expect((await f.v2(location, { method: "DELETE" })).status).toBe(204)
  })

  it("PUT with the wrong digest is DIGEST_INVALID; a malformed digest too", async () => {
    const start = await f.v2("/v2/shop/web/blobs/uploads/", { method: "POST" })
    const location = start.headers.get("location") ?? ""
    const put = await f.v2(`${location}?digest=${sha256("something else")}`, { method: "PUT", body: "actual" })
    expect(put.status).toBe(400)
    expect(await errorCode(put)).toBe("DIGEST_INVALID")
    const mono = await f.v2(`/v2/shop/web/blobs/uploads/?digest=md5:abc`, { method: "POST", body: "x" })
    expect(await errorCode(mono)).toBe("DIGEST_INVALID")
    const get = await f.v2(`/v2/shop/web/blobs/sha256:xyz`)
    expect(await errorCode(get)).toBe("DIGEST_INVALID")
  })

  it("unknown upload sessions are BLOB_UPLOAD_UNKNOWN; DELETE cancels a session", async () => {
    const unknown = await f.v2("/v2/shop/web/blobs/uploads/0190a0a0-0000-7000-8000-000000000000")
    expect(unknown.status).toBe(404)
    expect(await errorCode(unknown)).toBe("BLOB_UPLOAD_UNKNOWN")
    const start = await f.v2("/v2/shop/web/blobs/uploads/", { method: "POST" })
    const location = start.headers.get("location") ?? ""
    expect((await f.v2(location, { method: "DELETE" })).status).toBe(204)
    expect(await errorCode(await f.v2(location))).toBe("BLOB_UPLOAD_UNKNOWN")
    // a session belongs to its repository
    const s2 = await f.v2("/v2/shop/web/blobs/uploads/", { method: "POST" })
    const id = (s2.headers.get("location") ?? "").split("/").at(-1)
    expect(await errorCode(await f.v2(`/v2/shop/api/blobs/uploads/${id}`))).toBe("BLOB_UPLOAD_UNKNOWN")
  })

  it("unknown blobs are BLOB_UNKNOWN; DELETE unlinks a blob from the repository", async () => {
    const missing = await f.v2(`/v2/shop/web/blobs/${sha256("never pushed")}`)
    expect(missing.status).toBe(404)
    expect(await errorCode(missing)).toBe("BLOB_UNKNOWN")
    const head = await f.v2(`/v2/shop/web/blobs/${sha256("never pushed")}`, { method: "HEAD" })
    expect(head.status).toBe(404)
    const digest = await pushBlob(f, "shop/web", "to delete")
    expect((await f.v2(`/v2/shop/web/blobs/${digest}`, { method: "DELETE" })).status).toBe(202)
    expect((await f.v2(`/v2/shop/web/blobs/${digest}`)).status).toBe(404)
    expect(await errorCode(await f.v2(`/v2/shop/web/blobs/${digest}`, { method: "DELETE" }))).toBe("BLOB_UNKNOWN")
  })

  it("cross-repository mount links an existing blob (201); without the blob it falls back to a new session (202)", async () => {
    const digest = await pushBlob(f, "shop/web", "shared layer")
    const mounted = await f.v2(`/v2/shop/api/blobs/uploads/?mount=${digest}&from=shop/web`, { method: "POST" })
    expect(mounted.status).toBe(201)
    expect(mounted.headers.get("location")).toBe(`/v2/shop/api/blobs/${digest}`)
    expect(mounted.headers.get("docker-content-digest")).toBe(digest)
    expect((await f.v2(`/v2/shop/api/blobs/${digest}`)).status).toBe(200)
    const fallback = await f.v2(`/v2/shop/api/blobs/uploads/?mount=${sha256("absent")}&from=shop/web`, { method: "POST" })
    expect(fallback.status).toBe(202)
    expect(fallback.headers.get("location")).toMatch(/blobs\/uploads\//)
  })

  it("unsupported methods get 405 UNSUPPORTED", async () => {
    const r = await f.v2("/v2/shop/web/blobs/uploads/", { method: "GET" })
    expect(r.status).toBe(405)
    expect(await errorCode(r)).toBe("UNSUPPORTED")
  })
})

describe("manifests", () => {
  it("PUT by tag, GET/HEAD by tag and digest, with the stored media type and digest", async () => {
    const img = await pushImage(f, "shop/mfst", "v1", ["layer-a", "layer-b"])
    for (const ref of ["v1", img.digest]) {
      const r = await f.v2(`/v2/shop/mfst/manifests/${ref}`)
      expect(r.status).toBe(200)
      expect(r.headers.get("content-type")).toBe(OCI_MANIFEST)
      expect(r.headers.get("docker-content-digest")).toBe(img.digest)
      expect(await r.text()).toBe(img.manifest)
      const head = await f.v2(`/v2/shop/mfst/manifests/${ref}`, { method: "HEAD" })
      expect(head.status).toBe(200)
      expect(head.headers.get("content-length")).toBe(String(Buffer.byteLength(img.manifest)))
    }
  })

  it("PUT answers 201 with Location and Docker-Content-Digest; by digest the body must match", async () => {
    const img = await pushImage(f, "shop/mfst", "v2", ["layer-c"])
    const again = await f.v2(`/v2/shop/mfst/manifests/${img.digest}`, {
      method: "PUT",
      body: img.manifest,
      headers: { "content-type": OCI_MANIFEST }
    })
    expect(again.status).toBe(201)
    expect(again.headers.get("location")).toBe(`/v2/shop/mfst/manifests/${img.digest}`)
    expect(again.headers.get("docker-content-digest")).toBe(img.digest)
    const mismatch = await f.v2(`/v2/shop/mfst/manifests/${sha256("x")}`, {
      method: "PUT",
      body: img.manifest,
      headers: { "content-type": OCI_MANIFEST }
    })
    expect(mismatch.status).toBe(400)
    expect(await errorCode(mismatch)).toBe("DIGEST_INVALID")
  })

  it("referenced blobs must exist in the repository: MANIFEST_BLOB_UNKNOWN", async () => {
    const config = await pushBlob(f, "shop/mfst", "{}")
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 2 },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256("not uploaded"), size: 12 }]
    })
    const r = await f.v2("/v2/shop/mfst/manifests/broken", { method: "PUT", body: manifest, headers: { "content-type": OCI_MANIFEST } })
    expect(r.status).toBe(400)
    const body = (await r.json()) as { errors: Array<{ code: string; detail: { missing: Array<string> } }> }
    expect(body.errors[0]?.code).toBe("MANIFEST_BLOB_UNKNOWN")
    expect(body.errors[0]?.detail.missing).toEqual([sha256("not uploaded")])
    // a blob present in another repository does not count
    const elsewhere = await pushBlob(f, "shop/other", "only in other")
    const m2 = manifest.replace(sha256("not uploaded"), elsewhere)
    expect(
      await errorCode(await f.v2("/v2/shop/mfst/manifests/broken", { method: "PUT", body: m2, headers: { "content-type": OCI_MANIFEST } }))
    ).toBe(
      "MANIFEST_BLOB_UNKNOWN"
    )
    expect((await f.v2("/v2/shop/mfst/manifests/broken")).status).toBe(404)
  })

  it("an index needs its child manifests in the repository; Docker manifest lists are accepted", async () => {
    const child = await pushImage(f, "shop/mfst", "child", ["child-layer"])
    const listBody = (mediaType: string, digest: string) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        manifests: [{
          mediaType: OCI_MANIFEST,
          digest,
          size: Buffer.byteLength(child.manifest),
          platform: { os: "linux", architecture: "amd64" }
        }]
      })
    const dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
    const ok = await f.v2("/v2/shop/mfst/manifests/list", {
      method: "PUT",
      body: listBody(dockerList, child.digest),
      headers: { "content-type": dockerList }
    })
    expect(ok.status).toBe(201)
    expect((await f.v2("/v2/shop/mfst/manifests/list")).headers.get("content-type")).toBe(dockerList)
    const ociIndex = "application/vnd.oci.image.index.v1+json"
    const missing = await f.v2("/v2/shop/mfst/manifests/index", {
      method: "PUT",
      body: listBody(ociIndex, sha256("no such manifest")),
      headers: { "content-type": ociIndex }
    })
    expect(await errorCode(missing)).toBe("MANIFEST_BLOB_UNKNOWN")
  })

  it("invalid manifests are MANIFEST_INVALID; oversized ones 413", async () => {
    const notJson = await f.v2("/v2/shop/mfst/manifests/bad", { method: "PUT", body: "{nope", headers: { "content-type": OCI_MANIFEST } })
    expect(notJson.status).toBe(400)
    expect(await errorCode(notJson)).toBe("MANIFEST_INVALID")
    const schema1 = await f.v2("/v2/shop/mfst/manifests/bad", {
      method: "PUT",
      body: JSON.stringify({ schemaVersion: 1 }),
      headers: { "content-type": OCI_MANIFEST }
    })
    expect(await errorCode(schema1)).toBe("MANIFEST_INVALID")
    const badTag = await f.v2("/v2/shop/mfst/manifests/-bad-tag", { method: "PUT", body: "{}", headers: { "content-type": OCI_MANIFEST } })
    expect(await errorCode(badTag)).toBe("MANIFEST_INVALID")
    const big = await f.v2("/v2/shop/mfst/manifests/big", {
      method: "PUT",
      body: Buffer.alloc(4 * 1024 * 1024 + 1, 0x20),
      headers: { "content-type": OCI_MANIFEST }
    })
    expect(big.status).toBe(413)
    expect(await errorCode(big)).toBe("SIZE_INVALID")
  })

  it("unknown manifests are MANIFEST_UNKNOWN; DELETE by tag removes the tag, by digest the manifest", async () => {
    expect(await errorCode(await f.v2("/v2/shop/mfst/manifests/none"))).toBe("MANIFEST_UNKNOWN")
    expect(await errorCode(await f.v2(`/v2/shop/mfst/manifests/${sha256("none")}`))).toBe("MANIFEST_UNKNOWN")
    const img = await pushImage(f, "shop/mfst", "gone", ["gone-layer"])
    await f.v2(`/v2/shop/mfst/manifests/${img.digest}`, { method: "PUT", body: img.manifest, headers: { "content-type": OCI_MANIFEST } })
    expect((await f.v2("/v2/shop/mfst/manifests/gone", { method: "DELETE" })).status).toBe(202)
    expect((await f.v2("/v2/shop/mfst/manifests/gone")).status).toBe(404)
    expect((await f.v2(`/v2/shop/mfst/manifests/${img.digest}`)).status).toBe(200)
    expect((await f.v2(`/v2/shop/mfst/manifests/${img.digest}`, { method: "DELETE" })).status).toBe(202)
    expect((await f.v2(`/v2/shop/mfst/manifests/${img.digest}`)).status).toBe(404)
    expect(await errorCode(await f.v2(`/v2/shop/mfst/manifests/${img.digest}`, { method: "DELETE" }))).toBe("MANIFEST_UNKNOWN")
  })

  it("a manifest with a subject answers OCI-Subject and shows up in referrers", async () => {
    const base = await pushImage(f, "shop/mfst", "base", ["base-layer"])
    const sig = await pushImage(f, "shop/mfst", "sig", ["signature"], {
      artifactType: "application/vnd.example.signature",
      subject: { mediaType: OCI_MANIFEST, digest: base.digest, size: Buffer.byteLength(base.manifest) }
    })
    const again = await f.v2(`/v2/shop/mfst/manifests/${sig.digest}`, {
      method: "PUT",
      body: sig.manifest,
      headers: { "content-type": OCI_MANIFEST }
    })
    expect(again.headers.get("oci-subject")).toBe(base.digest)
    const refs = (await (await f.v2(`/v2/shop/mfst/referrers/${base.digest}`)).json()) as {
      manifests: Array<{ digest: string; artifactType: string }>
    }
    expect(refs.manifests).toEqual([expect.objectContaining({ digest: sig.digest, artifactType: "application/vnd.example.signature" })])
  })
})

describe("tags and catalog", () => {
  it("lists tags in order with n/last pagination and a Link header", async () => {
    for (const t of ["c", "a", "e", "b", "d"]) await pushImage(f, "shop/tags", t, [`layer-${t}`])
    const all = (await (await f.v2("/v2/shop/tags/tags/list")).json()) as { name: string; tags: Array<string> }
    expect(all).toEqual({ name: "shop/tags", tags: ["a", "b", "c", "d", "e"] })
    const p1 = await f.v2("/v2/shop/tags/tags/list?n=2")
    expect(((await p1.json()) as { tags: Array<string> }).tags).toEqual(["a", "b"])
    const link = p1.headers.get("link") ?? ""
    expect(link).toBe("</v2/shop/tags/tags/list?n=2&last=b>; rel=\"next\"")
    const next = link.slice(1, link.indexOf(">"))
    expect(((await (await f.v2(next)).json()) as { tags: Array<string> }).tags).toEqual(["c", "d"])
    const p3 = await f.v2("/v2/shop/tags/tags/list?n=2&last=d")
    expect(((await p3.json()) as { tags: Array<string> }).tags).toEqual(["e"])
    expect(p3.headers.get("link")).toBeNull()
    const bad = await f.v2("/v2/shop/tags/tags/list?n=-1")
    expect(bad.status).toBe(400)
    expect(await errorCode(bad)).toBe("PAGINATION_NUMBER_INVALID")
    const none = (await (await f.v2("/v2/shop/tags/tags/list?n=0")).json()) as { tags: Array<string> }
    expect(none.tags).toEqual([])
    const empty = (await (await f.v2("/v2/shop/other/tags/list")).json()) as { tags: Array<string> }
    expect(empty.tags).toEqual([])
  })

  it("_catalog lists repositories with manifests, paginated", async () => {
    const all = (await (await f.v2("/v2/_catalog")).json()) as { repositories: Array<string> }
    expect(all.repositories).toEqual(expect.arrayContaining(["shop/mfst", "shop/tags"]))
    expect([...all.repositories].sort()).toEqual(all.repositories)
    const p1 = await f.v2("/v2/_catalog?n=1")
    expect(((await p1.json()) as { repositories: Array<string> }).repositories).toEqual([all.repositories[0]])
    expect(p1.headers.get("link")).toContain("last=")
  })
})
