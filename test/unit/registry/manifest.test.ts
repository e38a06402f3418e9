import { describe, expect, it } from "vitest"
import { tokenFromAuthorization } from "../../../src/registry/access.js"
import { digestHex, isDigest, looksLikeDigest, TAG } from "../../../src/registry/digest.js"
import { DistributionError, statusOf } from "../../../src/registry/errors.js"
import { MEDIA_TYPES, parseManifest } from "../../../src/registry/manifest.js"

const d = (c: string) => `sha256:${c.repeat(64)}`
const desc = (digest: string, mediaType = "application/octet-stream") => ({ mediaType, digest, size: 10 })
const body = (v: unknown) => Buffer.from(JSON.stringify(v))

describe("parseManifest", () => {
  it("lists config and layers of an image manifest, deduplicated", () => {
    const m = parseManifest(
      body({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: desc(d("a")),
        layers: [desc(d("b")), desc(d("b")), desc(d("c"))]
      }),
      MEDIA_TYPES.ociManifest
    )
    expect(m).not.toBeInstanceOf(DistributionError)
    if (m instanceof DistributionError) return
    expect(m.mediaType).toBe(MEDIA_TYPES.ociManifest)
    expect(m.refs).toEqual([
      { digest: d("a"), kind: "blob" },
      { digest: d("b"), kind: "blob" },
      { digest: d("c"), kind: "blob" }
    ])
    expect(m.subject).toBeUndefined()
    expect(m.artifactType).toBe("application/octet-stream")
  })

  it("lists child manifests of indexes and Docker manifest lists", () => {
    for (const mt of [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]) {
      const m = parseManifest(body({ schemaVersion: 2, mediaType: mt, manifests: [desc(d("1")), desc(d("2"))] }), mt)
      if (m instanceof DistributionError) throw m
      expect(m.refs.map((r) => r.kind)).toEqual(["manifest", "manifest"])
    }
  })

  it("takes the media type from the body when Content-Type is generic, infers it when both are missing", () => {
    const docker = parseManifest(
      body({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: desc(d("a")), layers: [] }),
      "application/octet-stream"
    )
    expect(docker instanceof DistributionError ? docker.code : docker.mediaType).toBe(MEDIA_TYPES.dockerManifest)
    const inferred = parseManifest(body({ schemaVersion: 2, manifests: [] }), undefined)
    expect(inferred instanceof DistributionError ? inferred.code : inferred.mediaType).toBe(MEDIA_TYPES.ociIndex)
  })

  it("records subject and artifactType", () => {
    const m = parseManifest(
      body({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        artifactType: "application/x.sig",
        config: desc(d("a")),
        layers: [],
        subject: desc(d("f"))
      }),
      MEDIA_TYPES.ociManifest
    )
    if (m instanceof DistributionError) throw m
    expect(m.subject).toBe(d("f"))
    expect(m.artifactType).toBe("application/x.sig")
  })

  it.each([
    ["not JSON", Buffer.from("{"), MEDIA_TYPES.ociManifest],
    ["schema 1", body({ schemaVersion: 1 }), MEDIA_TYPES.ociManifest],
    ["unknown media type", body({ schemaVersion: 2, config: desc(d("a")), layers: [] }), "application/json"],
    [
      "header/body mismatch",
      body({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: desc(d("a")), layers: [] }),
      MEDIA_TYPES.ociManifest
    ],
    [
      "bad digest",
      body({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: desc("sha256:zz"), layers: [] }),
      MEDIA_TYPES.ociManifest
    ],
    [
      "negative size",
      body({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { digest: d("a"), size: -1 }, layers: [] }),
      MEDIA_TYPES.ociManifest
    ],
    [
      "layers not an array",
      body({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: desc(d("a")), layers: {} }),
      MEDIA_TYPES.ociManifest
    ],
    ["index without manifests", body({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex }), MEDIA_TYPES.ociIndex]
  ])("refuses %s with MANIFEST_INVALID", (_name, bytes, ct) => {
    const m = parseManifest(bytes, ct)
    expect(m).toBeInstanceOf(DistributionError)
    expect(m instanceof DistributionError ? [m.code, statusOf(m)] : []).toEqual(["MANIFEST_INVALID", 400])
  })
})

describe("digests and tags", () => {
  it("accepts lowercase sha256 only", () => {
    expect(isDigest(d("a"))).toBe(true)
    expect(isDigest(d("A"))).toBe(false)
    expect(isDigest(`sha512:${"a".repeat(128)}`)).toBe(false)
    expect(digestHex(d("b"))).toBe("b".repeat(64))
    expect(looksLikeDigest("v1.0")).toBe(false)
    expect(looksLikeDigest("sha256:x")).toBe(true)
  })
  it("follows the OCI tag grammar", () => {
    expect(TAG.test("latest")).toBe(true)
    expect(TAG.test("v1.2.3-rc_1")).toBe(true)
    expect(TAG.test("-x")).toBe(false)
    expect(TAG.test("a".repeat(129))).toBe(false)
  })
})

describe("tokenFromAuthorization", () => {
  it("reads Bearer tokens and Basic passwords (username ignored, colons kept)", () => {
    expect(tokenFromAuthorization("Bearer abc")).toBe("abc")
    expect(tokenFromAuthorization(`Basic ${Buffer.from("user:pa:ss").toString("base64")}`)).toBe("pa:ss")
    expect(tokenFromAuthorization(`basic ${Buffer.from(":tok").toString("base64")}`)).toBe("tok")
    expect(tokenFromAuthorization(`Basic ${Buffer.from("nocolon").toString("base64")}`)).toBeUndefined()
    expect(tokenFromAuthorization("Digest x")).toBeUndefined()
    expect(tokenFromAuthorization(undefined)).toBeUndefined()
  })
})
