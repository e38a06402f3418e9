/** `Uploads.list`: a service's stored uploads, newest first, without expired ones or other services' uploads. */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import { afterEach, describe, expect, it } from "vitest"
import { makeUploads } from "../../../src/builder/uploads/Uploads.js"
import { corpusCaps, gzipped, tarOf } from "../../support/tarballs.js"

const roots: Array<string> = []
afterEach(async () => {
  for (const r of roots.splice(0)) await fs.rm(r, { recursive: true, force: true })
})

describe("Uploads.list", () => {
  it("lists the service's unexpired uploads newest first", async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "denia-uploads-list-"))
    roots.push(root)
    const dir = path.join(root, "uploads")
    const uploads = await Effect.runPromise(
      makeUploads({ dir, contextsDir: path.join(root, "contexts"), ttlMinutes: 60, caps: corpusCaps })
    )
    const body = gzipped(await tarOf([{ name: "Dockerfile", content: "FROM scratch\n" }]))
    const receive = (serviceId: string) => Effect.runPromise(uploads.receive(serviceId, Readable.from([body]), body.length))
    expect(await Effect.runPromise(uploads.list("svc"))).toEqual([])
    const a = await receive("svc")
    const b = await receive("svc")
    const c = await receive("svc")
    const other = await receive("other")
    // b expires; a stray file and a partial are no uploads
    const meta = path.join(dir, `${b.id}.json`)
    await fs.writeFile(
      meta,
      JSON.stringify({ ...JSON.parse(await fs.readFile(meta, "utf8")), expiresAt: new Date(Date.now() - 1000).toISOString() })
    )
    await fs.writeFile(path.join(dir, "notes.json"), "{}")
    await fs.writeFile(path.join(dir, `${other.id.slice(0, -1)}0.partial`), "")
    const listed = await Effect.runPromise(uploads.list("svc"))
    expect(listed.map((u) => u.id)).toEqual([c.id, a.id])
    expect(listed[0]).toEqual(c)
    expect((await Effect.runPromise(uploads.list("other"))).map((u) => u.id)).toEqual([other.id])
  })
})
