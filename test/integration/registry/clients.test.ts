/** Real clients against the hosted registry: skopeo push/pull round trips and buildah push. */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { buildAndPush, busyboxImage, multiLayerImage, runTool, writeOciLayout } from "../../support/ociImages.js"
import { ADMIN_TOKEN, type Fixture, sha256, startFixture } from "./support.js"

let f: Fixture
let operatorToken: string
const temps: Array<string> = []
const tempDir = async () => {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), "denia-reg-clients-"))
  temps.push(d)
  return d
}

beforeAll(async () => {
  f = await startFixture()
  const projectId = await f.project("shop")
  await f.service(projectId, "web")
  await f.service(projectId, "api")
  await f.service(projectId, "worker")
  operatorToken = await f.user("olivia", { projectId, role: "operator" })
}, 60_000)
afterAll(async () => {
  await f.d.stop()
  for (const t of temps) await fs.rm(t, { recursive: true, force: true })
})

const skopeo = (...args: Array<string>) => runTool("skopeo", ["--insecure-policy", ...args])

describe("skopeo", () => {
  it("pushes with an API token over Basic auth and pulls back the same digests", async () => {
    const built = await buildAndPush(multiLayerImage(), f.host, "shop/web", "v1", {
      credentials: { username: "olivia", password: operatorToken }
    })
    const inspect = JSON.parse(
      await skopeo("inspect", "--raw", "--tls-verify=false", "--creds", `x:${operatorToken}`, `docker://${f.host}/shop/web:v1`)
    ) as { layers: Array<{ digest: string }> }
    expect(inspect.layers.map((l) => l.digest)).toEqual(built.images[0]?.layers.map((l) => l.digest))
    const digestOut = await skopeo(
      "inspect",
      "--format",
      "{{.Digest}}",
      "--tls-verify=false",
      "--creds",
      `x:${operatorToken}`,
      `docker://${f.host}/shop/web:v1`
    )
    expect(digestOut.trim()).toBe(built.digest)

    const out = await tempDir()
    await skopeo(
      "copy",
      "--quiet",
      "--preserve-digests",
      "--src-tls-verify=false",
      "--src-creds",
      `x:${operatorToken}`,
      `docker://${f.host}/shop/web:v1`,
      `oci:${out}:v1`
    )
    const index = JSON.parse(await fs.readFile(path.join(out, "index.json"), "utf8")) as { manifests: Array<{ digest: string }> }
    expect(index.manifests[0]?.digest).toBe(built.digest)
    for (const layer of built.images[0]?.layers ?? []) {
      const hex = layer.digest.slice("sha256:".length)
      const st = await fs.stat(path.join(out, "blobs", "sha256", hex))
      expect(st.size).toBe(layer.size)
    }
  })

  it("round-trips a multi-platform OCI index and Docker schema 2 manifests (admin token as Basic password)", async () => {
    const index = await buildAndPush(
      { index: [busyboxImage(), { ...busyboxImage({ Cmd: ["/bin/true"] }), architecture: "arm64" }] },
      f.host,
      "shop/api",
      "multi",
      { credentials: { username: "admin", password: ADMIN_TOKEN } }
    )
    const raw = JSON.parse(
      await skopeo("inspect", "--raw", "--tls-verify=false", "--creds", `a:${ADMIN_TOKEN}`, `docker://${f.host}/shop/api:multi`)
    ) as {
      mediaType: string
      manifests: Array<{ digest: string }>
    }
    expect(raw.mediaType).toBe("application/vnd.oci.image.index.v1+json")
    expect(raw.manifests.map((m) => m.digest)).toEqual(index.images.map((i) => i.manifest.digest))

    // skopeo converts to Docker v2 schema 2 on the way in.
    const layout = await tempDir()
    await writeOciLayout(layout, busyboxImage(), "plain")
    await skopeo(
      "copy",
      "--quiet",
      "--format",
      "v2s2",
      "--dest-tls-verify=false",
      "--dest-creds",
      `a:${ADMIN_TOKEN}`,
      `oci:${layout}:plain`,
      `docker://${f.host}/shop/api:docker`
    )
    const dockerDigest = (
      await skopeo(
        "inspect",
        "--format",
        "{{.Digest}}",
        "--tls-verify=false",
        "--creds",
        `a:${ADMIN_TOKEN}`,
        `docker://${f.host}/shop/api:docker`
      )
    ).trim()
    const head = await f.v2(`/v2/shop/api/manifests/docker`, { method: "HEAD" })
    expect(head.status).toBe(200)
    expect(head.headers.get("content-type")).toBe("application/vnd.docker.distribution.manifest.v2+json")
    expect(head.headers.get("docker-content-digest")).toBe(dockerDigest)
    const out = await tempDir()
    await skopeo(
      "copy",
      "--quiet",
      "--preserve-digests",
      "--src-tls-verify=false",
      "--src-creds",
      `a:${ADMIN_TOKEN}`,
      `docker://${f.host}/shop/api:docker`,
      `dir:${out}`
    )
    const pulled = await fs.readFile(path.join(out, "manifest.json"))
    expect(sha256(pulled)).toBe(dockerDigest)
  })

  it("copies between two Denia repositories with a cross-repository blob mount", async () => {
    await skopeo(
      "copy",
      "--quiet",
      "--preserve-digests",
      "--src-tls-verify=false",
      "--dest-tls-verify=false",
      "--src-creds",
      `x:${operatorToken}`,
      "--dest-creds",
      `x:${operatorToken}`,
      `docker://${f.host}/shop/web:v1`,
      `docker://${f.host}/shop/api:copied`
    )
    const a = await f.v2("/v2/shop/web/manifests/v1")
    const b = await f.v2("/v2/shop/api/manifests/copied")
    expect(b.headers.get("docker-content-digest")).toBe(a.headers.get("docker-content-digest"))
  })
})

const hasBuildah = spawnSync("buildah", ["--version"]).status === 0

describe("buildah", () => {
  it("pushes an image with --creds user:TOKEN", async () => {
    if (!hasBuildah) throw new Error("buildah is not installed (it is listed in .ci/apt-packages)")
    const layout = (await tempDir()).toLowerCase()
    await fs.mkdir(layout, { recursive: true })
    temps.push(layout)
    const built = await writeOciLayout(layout, busyboxImage(), "b1")
    const storage = await tempDir()
    const common = ["--root", path.join(storage, "root"), "--runroot", path.join(storage, "run"), "--storage-driver", "vfs"]
    const imageId = (await runTool("buildah", [...common, "pull", "--quiet", `oci:${layout}:b1`])).trim().split("\n").at(-1) ?? ""
    expect(imageId).toMatch(/^[0-9a-f]{64}$/)
    await runTool("buildah", [
      ...common,
      "push",
      "--quiet",
      "--tls-verify=false",
      "--creds",
      `olivia:${operatorToken}`,
      imageId,
      `docker://${f.host}/shop/worker:b1`
    ])
    const r = await f.v2("/v2/shop/worker/manifests/b1", { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } })
    expect(r.status).toBe(200)
    const manifest = (await r.json()) as { layers: Array<{ digest: string }> }
    expect(manifest.layers.length).toBe(built.images[0]?.layers.length)
    const tags = (await (await f.v2("/v2/shop/worker/tags/list")).json()) as { tags: Array<string> }
    expect(tags.tags).toEqual(["b1"])
  }, 120_000)
})
