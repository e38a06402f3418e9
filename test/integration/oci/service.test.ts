import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { anonymous } from "../../../src/oci/index.js"
import { buildAndPush, type BuiltTag, busyboxImage, multiLayerImage } from "../../support/ociImages.js"
import { type RunningRegistry, startRegistry } from "../../support/registry.js"
import { failureOf, startOci } from "./helpers.js"

const cacheDir = (dataDir: string) => path.join(dataDir, "oci-cache/blobs/sha256")
const ageAll = async (dataDir: string, days: number) => {
  const when = Date.now() - days * 24 * 3600 * 1000
  for (const n of await fs.readdir(cacheDir(dataDir))) {
    if (n.endsWith(".last-used")) await fs.writeFile(path.join(cacheDir(dataDir), n), String(when))
  }
}
const cachedDigests = async (dataDir: string) =>
  (await fs.readdir(cacheDir(dataDir))).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`).sort()

describe("OciService: GC, USER errors, Docker media types", () => {
  let registry: RunningRegistry
  let multi: BuiltTag
  let busybox: BuiltTag
  beforeAll(async () => {
    registry = await startRegistry()
    multi = await buildAndPush(multiLayerImage(), registry.host, "gc/multi", "v1")
    busybox = await buildAndPush(busyboxImage({ Cmd: ["/bin/true"] }), registry.host, "gc/busybox", "v1")
  })
  afterAll(async () => registry?.stop())

  it("GC keeps blobs of pinned manifests and removes unused old ones", async () => {
    const h = await startOci({ insecureRegistries: [registry.host] })
    try {
      const a = await Effect.runPromise(h.oci.pull(`${registry.host}/gc/multi:v1`, anonymous))
      await Effect.runPromise(h.oci.pull(`${registry.host}/gc/busybox:v1`, anonymous))
      await ageAll(h.dataDir, 30)
      h.pinned = [a.digest]
      const report = await Effect.runPromise(h.oci.gc)
      const kept = [a.manifest.configDigest, ...a.manifest.layers].sort()
      expect(await cachedDigests(h.dataDir)).toEqual([...new Set(kept)].sort())
      const bbImg = busybox.images[0]
      // busybox's base layer is shared with multi (same bytes), its config is not
      expect(report.deleted).toBe(1)
      expect(report.deletedBytes).toBe(bbImg?.config.size)
      const status = await Effect.runPromise(h.oci.cacheStatus)
      expect(status.entries).toBe(kept.length)
      expect(status.lastGcDeletedBytes).toBe(bbImg?.config.size)
      expect(status.lastGcAt).not.toBeNull()
      // unpin: everything old goes
      h.pinned = []
      await Effect.runPromise(h.oci.gc)
      expect(await cachedDigests(h.dataDir)).toEqual([])
      expect(multi.images[0]?.manifest.digest).toBe(a.digest)
    } finally {
      await h.close()
    }
  })

  it("the GC loop runs on its interval in the service scope", async () => {
    const h = await startOci({ insecureRegistries: [registry.host], cacheGcIntervalHours: 0.2 / 3600, cacheRetentionDays: 1 })
    try {
      await Effect.runPromise(h.oci.pull(`${registry.host}/gc/busybox:v1`, anonymous))
      await ageAll(h.dataDir, 2)
      let status = await Effect.runPromise(h.oci.cacheStatus)
      for (let i = 0; i < 100 && status.entries > 0; i++) {
        await new Promise((r) => setTimeout(r, 100))
        status = await Effect.runPromise(h.oci.cacheStatus)
      }
      expect(status.entries).toBe(0)
      expect(status.lastGcAt).not.toBeNull()
    } finally {
      await h.close()
    }
  })

  it("an unknown USER fails the pull and removes the partial bundle", async () => {
    await buildAndPush(busyboxImage({ User: "ghost", Cmd: ["/bin/sh"] }), registry.host, "gc/ghost", "v1")
    await buildAndPush(busyboxImage({ User: "70000", Cmd: ["/bin/sh"] }), registry.host, "gc/bigid", "v1")
    await buildAndPush(busyboxImage({ User: "svc:staff", Cmd: ["/bin/sh"] }), registry.host, "gc/svc", "v1")
    const h = await startOci({ insecureRegistries: [registry.host] })
    try {
      const ghost = await failureOf(h.oci.pull(`${registry.host}/gc/ghost:v1`, anonymous))
      expect(ghost._tag).toBe("denia/oci/UnknownImageUser")
      const big = await failureOf(h.oci.pull(`${registry.host}/gc/bigid:v1`, anonymous))
      expect(big._tag).toBe("denia/oci/IdOutOfRange")
      expect(await fs.readdir(path.join(h.dataDir, "artifacts"))).toEqual([])
      const ok = await Effect.runPromise(h.oci.pull(`${registry.host}/gc/svc:v1`, anonymous))
      expect(ok.manifest.user).toEqual({ spec: "svc:staff", uid: 2000, gid: 50, additionalGids: [] })
    } finally {
      await h.close()
    }
  })

  it("replaces a broken leftover bundle directory instead of trusting it", async () => {
    const h = await startOci({ insecureRegistries: [registry.host] })
    try {
      const digest = busybox.images[0]?.manifest.digest ?? ""
      const leftover = path.join(h.dataDir, "artifacts", digest.slice(7))
      await fs.mkdir(path.join(leftover, "rootfs"), { recursive: true })
      await fs.writeFile(path.join(leftover, "rootfs", "junk"), "junk")
      const img = await Effect.runPromise(h.oci.pull(`${registry.host}/gc/busybox:v1`, anonymous))
      expect(img.bundleDir).toBe(leftover)
      expect(img.reused).toBe(false)
      await expect(fs.lstat(path.join(img.rootfs, "junk"))).rejects.toThrow(/ENOENT/)
      expect((await fs.stat(path.join(img.bundleDir, "manifest.json"))).isFile()).toBe(true)
    } finally {
      await h.close()
    }
  })

  it("pulls Docker v2 schema 2 images", async () => {
    await buildAndPush(busyboxImage({ Cmd: ["/bin/sh"] }), registry.host, "gc/docker", "v1", { format: "v2s2" })
    const res = await fetch(`${registry.url}/v2/gc/docker/manifests/v1`, {
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" }
    })
    expect(res.headers.get("content-type")).toBe("application/vnd.docker.distribution.manifest.v2+json")
    const digest = res.headers.get("docker-content-digest")
    await res.arrayBuffer()
    const h = await startOci({ insecureRegistries: [registry.host] })
    try {
      const img = await Effect.runPromise(h.oci.pull(`${registry.host}/gc/docker:v1`, anonymous))
      expect(img.digest).toBe(digest)
      expect(img.manifest.args).toEqual(["/bin/sh"])
      expect((await fs.lstat(path.join(img.rootfs, "bin/sh"))).isSymbolicLink()).toBe(true)
    } finally {
      await h.close()
    }
  })
})

describe("transport: retries and blob redirects", () => {
  let registry: RunningRegistry
  let front: http.Server
  let storage: http.Server
  let frontHost = ""
  let storageHost = ""
  let built: BuiltTag
  const seen = { manifest503: 0, blobResets: 0, redirects: 0, storageAuth: 0 }

  const forward = (target: string, req: http.IncomingMessage, res: http.ServerResponse) => {
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host") headers[k] = v
    const up = http.request(`${registry.url}${target}`, { method: req.method, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    up.on("error", () => res.destroy())
    up.end()
  }
  const listen = async (s: http.Server) => {
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve))
    const a = s.address()
    return `127.0.0.1:${typeof a === "object" && a !== null ? a.port : 0}`
  }

  beforeAll(async () => {
    registry = await startRegistry()
    built = await buildAndPush(busyboxImage(), registry.host, "net/app", "v1")
    storage = http.createServer((req, res) => {
      if (req.headers.authorization !== undefined) seen.storageAuth++
      forward((req.url ?? "/").replace(/^\/storage/, ""), req, res)
    })
    storageHost = await listen(storage)
    front = http.createServer((req, res) => {
      const url = req.url ?? "/"
      if (url.includes("/manifests/") && seen.manifest503 === 0) {
        seen.manifest503++
        res.writeHead(503).end()
        return
      }
      if (url.includes("/blobs/") && seen.blobResets === 0) {
        seen.blobResets++
        req.socket.destroy()
        return
      }
      if (url.includes("/blobs/")) {
        seen.redirects++
        res.writeHead(307, { location: `http://${storageHost}/storage${url}` }).end()
        return
      }
      forward(url, req, res)
    })
    frontHost = await listen(front)
  })
  afterAll(async () => {
    await new Promise((r) => front?.close(r))
    await new Promise((r) => storage?.close(r))
    await registry?.stop()
  })

  it("retries 5xx and connection resets, follows blob redirects without leaking auth", async () => {
    const h = await startOci({ insecureRegistries: [frontHost, storageHost], maxAttempts: 3 })
    try {
      const img = await Effect.runPromise(
        h.oci.pull(`${frontHost}/net/app:v1`, { kind: "bearer", token: "static-token" })
      )
      expect(img.digest).toBe(built.digest)
      expect(seen.manifest503).toBe(1)
      expect(seen.blobResets).toBe(1)
      expect(seen.redirects).toBeGreaterThanOrEqual(2)
      expect(seen.storageAuth).toBe(0)
    } finally {
      await h.close()
    }
  })

  it("refuses a redirect to an internal host that is not allow-listed", async () => {
    const h = await startOci({ insecureRegistries: [frontHost], maxAttempts: 1 })
    try {
      const err = await failureOf(h.oci.pull(`${frontHost}/net/app:v1`, anonymous))
      expect(err._tag).toBe("denia/oci/SsrfRefused")
      expect(await fs.readdir(path.join(h.dataDir, "artifacts"))).toEqual([])
    } finally {
      await h.close()
    }
  })
})
