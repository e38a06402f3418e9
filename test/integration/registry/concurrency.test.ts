/** Concurrent pushes that share layers, and concurrent writers of the same blob and session. */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { waitFor } from "../../support/daemon.js"
import { busyboxBaseLayer, type ImageSpec, pushLayout, runTool, writeOciLayout } from "../../support/ociImages.js"
import { errorCode, type Fixture, sha256, startFixture } from "./support.js"

let f: Fixture
const temps: Array<string> = []
beforeAll(async () => {
  f = await startFixture()
  const shop = await f.project("shop")
  for (const s of ["one", "two", "three"]) await f.service(shop, s)
}, 60_000)
afterAll(async () => {
  await f.d.stop()
  for (const t of temps) await fs.rm(t, { recursive: true, force: true })
})

const imageWith = (marker: string): ImageSpec => ({
  layers: [busyboxBaseLayer("gzip"), { compression: "gzip", entries: [{ kind: "file", path: "marker.txt", content: marker }] }],
  config: { Cmd: ["/bin/sh"] }
})

describe("concurrent pushes", () => {
  it("skopeo pushes sharing the base layer run at once and each round-trips", async () => {
    const specs = [
      { repo: "shop/one", tag: "x" },
      { repo: "shop/two", tag: "x" },
      { repo: "shop/three", tag: "x" },
      { repo: "shop/one", tag: "y" }
    ]
    const built = await Promise.all(
      specs.map(async (s, i) => {
        const layout = await fs.mkdtemp(path.join(os.tmpdir(), "denia-reg-conc-"))
        temps.push(layout)
        const b = await writeOciLayout(layout, imageWith(`image ${i}`), "t")
        return { ...s, layout, built: b }
      })
    )
    const base = built.map((b) => b.built.images[0]?.layers[0]?.digest)
    expect(new Set(base).size).toBe(1)
    await Promise.all(
      built.map((b) =>
        pushLayout(b.layout, "t", f.host, `${b.repo}:${b.tag}`, { credentials: { username: "a", password: "a".repeat(64) } })
      )
    )
    for (const b of built) {
      const out = JSON.parse(
        await runTool("skopeo", [
          "--insecure-policy",
          "inspect",
          "--raw",
          "--tls-verify=false",
          "--creds",
          `a:${"a".repeat(64)}`,
          `docker://${f.host}/${b.repo}:${b.tag}`
        ])
      ) as { layers: Array<{ digest: string }> }
      expect(out.layers.map((l) => l.digest)).toEqual(b.built.images[0]?.layers.map((l) => l.digest))
      const blob = await f.v2(`/v2/${b.repo}/blobs/${base[0]}`)
      expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(base[0])
    }
  }, 120_000)

  it("the same blob uploaded by many requests at once ends up stored once and intact", async () => {
    const data = randomBytes(2 * 1024 * 1024)
    const digest = sha256(data)
    const results = await Promise.all(
      ["one", "two", "three", "one", "two", "three"].map((s) =>
        f.v2(`/v2/shop/${s}/blobs/uploads/?digest=${digest}`, { method: "POST", body: data })
      )
    )
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201])
    for (const s of ["one", "two", "three"]) {
      const got = Buffer.from(await (await f.v2(`/v2/shop/${s}/blobs/${digest}`)).arrayBuffer())
      expect(got.equals(data)).toBe(true)
    }
    const files = await fs.readdir(path.join(f.d.dataDir, "registry", "uploads"))
    expect(files).toEqual([])
  })

  it("a second writer on a session that is busy is refused with 416 and the first completes", async () => {
    const start = await f.v2("/v2/shop/one/blobs/uploads/", { method: "POST" })
    const location = start.headers.get("location") ?? ""
    const first = randomBytes(4 * 1024 * 1024)
    // a slow body keeps the first PATCH in flight
    let release: () => void = () => undefined
    const gate = new Promise<void>((r) => (release = r))
    const slow = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(first.subarray(0, 1024))
        await gate
        controller.enqueue(first.subarray(1024))
        controller.close()
      }
    })
    const inFlight = f.v2(location, { method: "PATCH", body: slow, duplex: "half" } as RequestInit)
    // wait until the server has written the first bytes of the slow request
    const sessionFile = path.join(f.d.dataDir, "registry", "uploads", location.split("/").at(-1) ?? "")
    await waitFor(async () => (await fs.stat(sessionFile)).size >= 1024)
    const second = await f.v2(location, { method: "PATCH", body: "intruder", headers: { "content-range": "0-7" } })
    expect(second.status).toBe(416)
    expect(await errorCode(second)).toBe("RANGE_INVALID")
    release()
    const done = await inFlight
    expect(done.status).toBe(202)
    expect(done.headers.get("range")).toBe(`0-${first.length - 1}`)
    const put = await f.v2(`${location}?digest=${sha256(first)}`, { method: "PUT" })
    expect(put.status).toBe(201)
  })
})

describe("interrupted uploads", () => {
  it("a chunk cut off by the client leaves the session at its last acknowledged size, and the push resumes", async () => {
    const data = randomBytes(3 * 1024 * 1024)
    const start = await f.v2("/v2/shop/two/blobs/uploads/", { method: "POST" })
    const location = start.headers.get("location") ?? ""
    const c1 = await f.v2(location, {
      method: "PATCH",
      body: data.subarray(0, 1024 * 1024),
      headers: { "content-range": `0-${1024 * 1024 - 1}` }
    })
    expect(c1.status).toBe(202)

    const sessionFile = path.join(f.d.dataDir, "registry", "uploads", location.split("/").at(-1) ?? "")
    const abort = new AbortController()
    const partial = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(data.subarray(1024 * 1024, 1024 * 1024 + 64 * 1024))
        // never closes: the client aborts instead
      }
    })
    const cut = f
      .v2(
        location,
        {
          method: "PATCH",
          body: partial,
          duplex: "half",
          signal: abort.signal,
          headers: { "content-range": `${1024 * 1024}-${2 * 1024 * 1024 - 1}` }
        } as RequestInit
      )
      .catch((e: unknown) => e)
    await waitFor(async () => (await fs.stat(sessionFile)).size > 1024 * 1024)
    abort.abort()
    await cut
    // the cut chunk is rolled back once the server notices
    await waitFor(async () => (await fs.stat(sessionFile)).size === 1024 * 1024)
    const status = await f.v2(location)
    expect(status.headers.get("range")).toBe(`0-${1024 * 1024 - 1}`)
    const rest = await f.v2(location, {
      method: "PATCH",
      body: data.subarray(1024 * 1024),
      headers: { "content-range": `${1024 * 1024}-${data.length - 1}` }
    })
    expect(rest.status).toBe(202)
    const put = await f.v2(`${location}?digest=${sha256(data)}`, { method: "PUT" })
    expect(put.status).toBe(201)
    expect(Buffer.from(await (await f.v2(`/v2/shop/two/blobs/${sha256(data)}`)).arrayBuffer()).equals(data)).toBe(true)
  })
})
