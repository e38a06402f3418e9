import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { hostPlatform, type ImageIndex, selectPlatform } from "../../../src/oci/manifest.js"
import { formatReference, parseReference } from "../../../src/oci/reference.js"

const parse = (s: string) => Effect.runSync(parseReference(s))
const digest = `sha256:${"a".repeat(64)}`

describe("parseReference", () => {
  it("normalizes Docker Hub names", () => {
    expect(formatReference(parse("nginx"))).toBe("docker.io/library/nginx:latest")
    expect(parse("nginx").apiHost).toBe("registry-1.docker.io")
    expect(formatReference(parse("bitnami/redis:7"))).toBe("docker.io/bitnami/redis:7")
    expect(formatReference(parse("docker.io/nginx:1.25"))).toBe("docker.io/library/nginx:1.25")
    expect(formatReference(parse("index.docker.io/library/nginx"))).toBe("docker.io/library/nginx:latest")
  })

  it("keeps other registries, ports and digests", () => {
    const r = parse(`ghcr.io/org/team/app:v1@${digest}`)
    expect(r).toEqual({ registry: "ghcr.io", apiHost: "ghcr.io", repository: "org/team/app", tag: "v1", digest })
    const l = parse(`localhost:5000/app@${digest}`)
    expect(l.registry).toBe("localhost:5000")
    expect(l.tag).toBeUndefined()
    expect(parse("127.0.0.1:5000/a/b").tag).toBe("latest")
    expect(parse("[::1]:5000/a").registry).toBe("[::1]:5000")
  })

  it("rejects malformed references", () => {
    for (const bad of ["", "UPPER/case", "a/b:bad tag", "a@sha256:xyz", "a//b", "a/b:", "reg.io/../x"]) {
      const exit = Effect.runSyncExit(parseReference(bad))
      expect(Exit.isFailure(exit), bad).toBe(true)
    }
  })
})

describe("selectPlatform", () => {
  const d = (c: string) => `sha256:${c.repeat(64)}`
  const index: ImageIndex = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: d("1"),
        size: 1,
        platform: { os: "linux", architecture: "amd64" }
      },
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: d("2"),
        size: 1,
        platform: { os: "linux", architecture: "arm64", variant: "v8" }
      },
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: d("3"),
        size: 1,
        platform: { os: "linux", architecture: "arm", variant: "v6" }
      },
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: d("4"),
        size: 1,
        platform: { os: "linux", architecture: "arm", variant: "v7" }
      },
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: d("5"),
        size: 1,
        platform: { os: "unknown", architecture: "unknown" }
      }
    ]
  }
  it("picks os/arch and prefers the exact variant", () => {
    expect(selectPlatform(index, { os: "linux", architecture: "amd64" })?.digest).toBe(d("1"))
    expect(selectPlatform(index, { os: "linux", architecture: "arm64" })?.digest).toBe(d("2"))
    expect(selectPlatform(index, { os: "linux", architecture: "arm", variant: "v7" })?.digest).toBe(d("4"))
    expect(selectPlatform(index, { os: "linux", architecture: "s390x" })).toBeUndefined()
    expect(hostPlatform().os).toBe("linux")
  })
})
