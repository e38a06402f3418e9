/**
 * Packing ahead of the push command (ADR 0810): the early start finds the `.denia` above the working
 * directory and packs its context; the push command takes it only for the same context and Dockerfile
 * (any other is discarded, its packers stopped); a manifest it cannot read or whose paths break the
 * manifest's rule starts nothing; byte counts made before the bar exists reach it when it attaches.
 * A plain pack (a daemon on this host, ADR 0820) starts nothing until the upload's socket is there;
 * then tar and the package's `denia-init send-pipe` write exactly the declared tar into it.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { pipeline, type Readable } from "node:stream"
import * as tar from "tar-stream"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { type PackedContext, tarBytes } from "../../../src/cli/client/pack.js"
import { type Prepack, prepack, startEarlyPrepack, takeEarlyPrepack } from "../../../src/cli/client/prepack.js"
import { uploadStream } from "../../../src/cli/client/upload.js"
import { ZstdDecompressStream } from "../../../src/oci/decompress.js"

const hasTools = (() => {
  try {
    return execFileSync("tar", ["--version"], { encoding: "utf8" }).includes("GNU tar") &&
      execFileSync("zstd", ["--version"], { encoding: "utf8" }).length > 0
  } catch {
    return false
  }
})()

/** The stream of a pack the CLI relays (a compressed one in these tests). */
const streamOf = (packed: PackedContext): Readable => {
  if (packed.stream === undefined) throw new Error("not a relayed pack")
  return packed.stream
}

const names = async (stream: Readable): Promise<Array<string>> => {
  const extract = tar.extract()
  pipeline(stream, new ZstdDecompressStream(), extract, () => undefined)
  const out: Array<string> = []
  for await (const entry of extract) {
    out.push(entry.header.name)
    entry.resume()
  }
  return out
}

let root: string
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "denia-prepack-"))
  fs.mkdirSync(path.join(root, "app", "src"), { recursive: true })
  fs.mkdirSync(path.join(root, "deeper", "still"), { recursive: true })
  fs.writeFileSync(path.join(root, "app", "Dockerfile"), "FROM scratch\n")
  fs.writeFileSync(path.join(root, "app", "src", "main.py"), "print(1)\n".repeat(250_000))
  fs.writeFileSync(path.join(root, "outside.txt"), "not in the context\n")
})
afterEach(() => {
  // nothing may be left waiting between tests
  expect(takeEarlyPrepack(path.join(root, "app"), "Dockerfile")).toBeUndefined()
  fs.rmSync(root, { recursive: true, force: true })
})

const manifest = (text: string) => fs.writeFileSync(path.join(root, ".denia"), text)

describe.runIf(hasTools)("packing ahead of the push command", () => {
  it("the early start packs the context of the manifest above the working directory; the push command takes it", async () => {
    manifest(`project = "default"\nservice = "web"\ncontext = "app"\n`)
    await startEarlyPrepack(path.join(root, "deeper", "still"))
    const early = takeEarlyPrepack(path.join(root, "app"), "Dockerfile")
    expect(early).toBeDefined()
    if (early === undefined) return
    const listing = await early.listing
    expect(listing.files.map((f) => f.rel)).toEqual(["Dockerfile", "src/main.py"])
    const packed = await early.packed
    expect(packed.format).toBe("zstd")
    expect(await names(streamOf(packed))).toEqual(["Dockerfile", "src/main.py"])
    // the counts made before anyone listened arrive at once, then the rest: never more than the tar
    let counted = 0
    early.onPacked((n) => (counted += n))
    expect(counted).toBeGreaterThan(0)
    expect(counted).toBeLessThanOrEqual(tarBytes(listing))
    // taken: the slot is empty again
    expect(takeEarlyPrepack(path.join(root, "app"), "Dockerfile")).toBeUndefined()
  })

  it("an early pack of another context or Dockerfile is discarded, its packers stopped", async () => {
    manifest(`project = "default"\nservice = "web"\ncontext = "app"\n`)
    await startEarlyPrepack(root)
    const waiting: unknown = Reflect.get(globalThis, Symbol.for("denia.cli.prepack"))
    expect(waiting).toHaveProperty("packed")
    const packed = await (waiting as Prepack).packed
    expect(streamOf(packed).destroyed).toBe(false)
    expect(takeEarlyPrepack(path.join(root, "app"), "Containerfile")).toBeUndefined()
    expect(streamOf(packed).destroyed).toBe(true)
    // discarded, not kept for a later take with the right paths
    expect(takeEarlyPrepack(path.join(root, "app"), "Dockerfile")).toBeUndefined()
  })

  it("a discarded pack stops its packers: the stream is destroyed, or packing never starts", async () => {
    const before = prepack(path.join(root, "app"), "Dockerfile")
    before.discard()
    await expect(before.packed).rejects.toThrow(/discarded/)
    const after = prepack(path.join(root, "app"), "Dockerfile")
    const packed = await after.packed
    after.discard()
    expect(streamOf(packed).destroyed).toBe(true)
    await new Promise<void>((resolve) => streamOf(packed).once("close", () => resolve()).resume())
  })

  it("starts nothing for a manifest it cannot use: not TOML, a path outside the project, none at all", async () => {
    for (
      const text of ["project = \n", `project = "default"\nservice = "web"\ncontext = "../elsewhere"\n`, `dockerfile = "/etc/passwd"\n`]
    ) {
      manifest(text)
      await startEarlyPrepack(root)
      expect(takeEarlyPrepack(path.resolve(root, "../elsewhere"), "Dockerfile")).toBeUndefined()
    }
    fs.rmSync(path.join(root, ".denia"))
    await startEarlyPrepack(path.join(root, "app"))
    expect(takeEarlyPrepack(path.join(root, "app"), "Dockerfile")).toBeUndefined()
  })

  it("a listing that fails rejects both promises (the push command reports it)", async () => {
    const gone = prepack(path.join(root, "missing"), "Dockerfile")
    await expect(gone.listing).rejects.toThrow(/ENOENT/)
    await expect(gone.packed).rejects.toThrow(/ENOENT/)
  })
})

describe.runIf(hasTools && fs.existsSync(path.resolve("build/native/denia-init")))("a plain pack for a daemon on this host", () => {
  it("waits for the socket, then tar and send-pipe write the declared tar into it; the answer is read after", async () => {
    const seen: { bytes: number; names: Array<string>; headers?: http.IncomingHttpHeaders } = { bytes: 0, names: [] }
    const server = http.createServer((req, res) => {
      seen.headers = req.headers
      const extract = tar.extract()
      req.on("data", (c: Buffer) => (seen.bytes += c.length))
      pipeline(req, extract, () => undefined)
      void (async () => {
        for await (const entry of extract) {
          seen.names.push(entry.header.name)
          entry.resume()
        }
        res.writeHead(201).end("{}")
      })()
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const packing = prepack(path.join(root, "app"), "Dockerfile", true)
      const packed = await packing.packed
      expect(packed).toMatchObject({ format: "tar", packer: "gnu-tar" })
      expect(packed.stream).toBeUndefined()
      if (packed.sendInto === undefined) return
      let counted = 0
      packing.onPacked((n) => (counted += n))
      // nothing packed before the upload takes it
      expect(counted).toBe(0)
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/up`
      const answer = await uploadStream(url, "t", packed, () => undefined, 0)
      packing.discard()
      expect(answer.status).toBe(201)
      expect(answer.bytes).toBe(packed.length)
      expect(seen.bytes).toBe(packed.length)
      expect(seen.headers?.["content-type"]).toBe("application/x-tar")
      expect(seen.headers?.["content-length"]).toBe(String(packed.length))
      expect(seen.names).toEqual(["Dockerfile", "src/main.py"])
      expect(counted).toBeGreaterThan(0)
      expect(counted).toBeLessThanOrEqual(packed.length)
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
