/**
 * The first layer of a cold pull is unpacked while it downloads (src/oci/streamedLayer.ts, ADR 0805):
 * a registry that holds back the end of the layer until the layer's first file is in the bundle's temp
 * rootfs only ever releases it when unpacking started before the download finished. The blob still
 * lands in the cache, verified.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { anonymous } from "../../../src/oci/index.js"
import { type BuiltTag, writeOciLayout } from "../../support/ociImages.js"
import { type OciHarness, startOci } from "./helpers.js"

const HOLD_BACK = 64 * 1024

describe("OciService unpacks a cold first layer while it downloads", () => {
  let layout: string
  let built: BuiltTag
  let server: http.Server
  let host: string
  let h: OciHarness
  let sawMarkerBeforeEnd = false

  /** The bundle's temp rootfs (`artifacts/.tmp-*`) has `marker.txt`. */
  const markerUnpacked = async () => {
    const dir = path.join(h.dataDir, "artifacts")
    for (const name of await fs.readdir(dir).catch(() => [] as Array<string>)) {
      if (!name.startsWith(".tmp-")) continue
      if (await fs.stat(path.join(dir, name, "rootfs", "marker.txt")).then(() => true, () => false)) return true
    }
    return false
  }

  beforeAll(async () => {
    layout = await fs.mkdtemp(path.join(os.tmpdir(), "denia-streamed-"))
    built = await writeOciLayout(layout, {
      layers: [{
        compression: "gzip",
        entries: [
          { kind: "file", path: "marker.txt", content: "first" },
          { kind: "file", path: "big.bin", content: { randomBytes: 2 * 1024 * 1024 } }
        ]
      }],
      config: { Cmd: ["/marker.txt"] }
    }, "v1")
    const image = built.images[0]
    const blob = (digest: string) => fs.readFile(path.join(layout, "blobs", "sha256", digest.slice(7)))
    server = http.createServer((req, res) => {
      const url = req.url ?? ""
      void (async () => {
        if (image === undefined) return res.writeHead(500).end()
        if (url === "/v2/" || url === "/v2") return res.writeHead(200).end("{}")
        if (url.startsWith("/v2/test/streamed/manifests/")) {
          const bytes = await blob(image.manifest.digest)
          return res.writeHead(200, {
            "content-type": image.manifest.mediaType,
            "docker-content-digest": image.manifest.digest,
            "content-length": bytes.length
          }).end(bytes)
        }
        const m = /^\/v2\/test\/streamed\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url)
        if (m === null) return res.writeHead(404).end()
        const bytes = await blob(m[1] ?? "")
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length })
        if (m[1] !== image.layers[0]?.digest) return res.end(bytes)
        // all but the tail, then wait (bounded) for the unpacker to have written the layer's first file
        res.write(bytes.subarray(0, bytes.length - HOLD_BACK))
        for (let i = 0; i < 500 && !sawMarkerBeforeEnd; i++) {
          sawMarkerBeforeEnd = await markerUnpacked()
          if (!sawMarkerBeforeEnd) await new Promise((r) => setTimeout(r, 20))
        }
        res.end(bytes.subarray(bytes.length - HOLD_BACK))
      })()
    })
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    const address = server.address()
    host = `127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
    h = await startOci({ insecureRegistries: [host] })
  })
  afterAll(async () => {
    await h?.close()
    await new Promise<void>((r) => server?.close(() => r()))
    await fs.rm(layout, { recursive: true, force: true })
  })

  it("writes the layer's first file before the blob has fully arrived, and caches the verified blob", async () => {
    const img = await Effect.runPromise(h.oci.pull(`${host}/test/streamed:v1`, anonymous))
    expect(sawMarkerBeforeEnd).toBe(true)
    expect(await fs.readFile(path.join(img.rootfs, "marker.txt"), "utf8")).toBe("first")
    expect((await fs.stat(path.join(img.rootfs, "big.bin"))).size).toBe(2 * 1024 * 1024)
    const layer = built.images[0]?.layers[0]
    const cached = await fs.stat(path.join(h.dataDir, "oci-cache/blobs/sha256", (layer?.digest ?? "").slice(7)))
    expect(cached.size).toBe(layer?.size)
  })
})
