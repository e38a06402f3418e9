import { Effect, Exit } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import { afterEach, describe, expect, it } from "vitest"
import { linkStaysInside } from "../../../src/builder/uploads/rules.js"
import { makeUploads } from "../../../src/builder/uploads/Uploads.js"
import { corpusCaps, gzipped, hostileCorpus, tarOf, zstded } from "../../support/tarballs.js"

const roots: Array<string> = []
afterEach(async () => {
  for (const r of roots.splice(0)) await fs.rm(r, { recursive: true, force: true })
})

const store = async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "denia-uploads-"))
  roots.push(root)
  const uploads = await Effect.runPromise(
    makeUploads({ dir: path.join(root, "uploads"), contextsDir: path.join(root, "contexts"), ttlMinutes: 60, caps: corpusCaps })
  )
  return { root, uploads }
}

/** Every path below `dir`, relative. */
const tree = async (dir: string): Promise<Array<string>> => {
  const out: Array<string> = []
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      out.push(path.relative(dir, p))
      if (e.isDirectory()) await walk(p)
    }
  }
  await walk(dir)
  return out.sort()
}

describe("link targets", () => {
  it("may climb only as far as the context root, then only descend", () => {
    expect(linkStaysInside("a/b/link", "../c")).toBe(true)
    expect(linkStaysInside("a/b/link", "../../c")).toBe(true)
    expect(linkStaysInside("a/b/link", "../../../c")).toBe(false)
    expect(linkStaysInside("link", "sub/x")).toBe(true)
    expect(linkStaysInside("link", "sub/../../x")).toBe(false)
    expect(linkStaysInside("link", "/etc")).toBe(false)
  })
})

describe("upload store", () => {
  it("stores a gzip and a zstd context and unpacks it with its links", async () => {
    const { root, uploads } = await store()
    const archive = await tarOf([
      { name: "Dockerfile", content: "FROM scratch\n" },
      { name: "app", type: "directory" },
      { name: "app/main.py", content: "print(1)\n", mode: 0o4755 },
      { name: "app/link", type: "symlink", linkname: "main.py" }
    ])
    for (const body of [gzipped(archive), zstded(archive)]) {
      const info = await Effect.runPromise(uploads.receive("svc", Readable.from([body]), body.length))
      expect(info.entries).toBe(4)
      expect(info.bytes).toBe(body.length)
      const seen = await Effect.runPromise(
        uploads.withContext("svc", info.id, (dir) =>
          Effect.promise(async () => ({
            files: await tree(dir),
            main: await fs.readFile(path.join(dir, "app/main.py"), "utf8"),
            mode: (await fs.stat(path.join(dir, "app/main.py"))).mode & 0o7777,
            link: await fs.readlink(path.join(dir, "app/link"))
          })))
      )
      expect(seen.files).toEqual(["Dockerfile", "app", "app/link", "app/main.py"])
      expect(seen.main).toBe("print(1)\n")
      expect(seen.mode & 0o6000).toBe(0)
      expect(seen.link).toBe("main.py")
    }
    // another service cannot use the upload
    const [other] = await fs.readdir(path.join(root, "uploads"))
    const id = (other ?? "").split(".")[0] ?? ""
    const exit = await Effect.runPromiseExit(uploads.get("other-service", id))
    expect(Exit.isFailure(exit)).toBe(true)
    // the contexts were removed after use
    expect(await fs.readdir(path.join(root, "contexts"))).toEqual([])
  })

  it("refuses every archive of the hostile corpus, naming rule and entry, and keeps nothing", async () => {
    const { root, uploads } = await store()
    for (const [name, rule, entry, status, body] of await hostileCorpus()) {
      const exit = await Effect.runPromiseExit(uploads.receive("svc", Readable.from([body]), body.length))
      if (!Exit.isFailure(exit)) throw new Error(`${name}: accepted`)
      const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error?._tag, name).toBe("denia/builder/UploadRejected")
      if (error?._tag !== "denia/builder/UploadRejected") continue
      expect(error.rule, name).toBe(rule)
      expect(error.entry, name).toBe(entry)
      expect(error.status, name).toBe(status)
      expect(error.message.startsWith(`${rule}:`), name).toBe(true)
    }
    expect(await tree(root)).toEqual(["uploads"])
  })

  it("refuses a body over the compressed cap, declared or streamed", async () => {
    const { uploads } = await store()
    const big = gzipped(Buffer.from(Array.from({ length: 4000 }, (_, i) => `${i}-${Math.random()}`).join("\n").repeat(40)))
    expect(big.length).toBeGreaterThan(corpusCaps.maxBytes)
    for (const declared of [big.length, undefined]) {
      const exit = await Effect.runPromiseExit(uploads.receive("svc", Readable.from([big]), declared))
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error?._tag === "denia/builder/UploadRejected" ? error.rule : error?._tag).toBe("too-large")
    }
  })

  it("expires uploads after the TTL", async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "denia-uploads-"))
    roots.push(root)
    const uploads = await Effect.runPromise(
      makeUploads({ dir: path.join(root, "uploads"), contextsDir: path.join(root, "contexts"), ttlMinutes: 1, caps: corpusCaps })
    )
    const body = gzipped(await tarOf([{ name: "Dockerfile", content: "FROM scratch\n" }]))
    const info = await Effect.runPromise(uploads.receive("svc", Readable.from([body]), body.length))
    expect(await Effect.runPromise(uploads.sweep)).toBe(0)
    const meta = path.join(root, "uploads", `${info.id}.json`)
    const expired = { ...JSON.parse(await fs.readFile(meta, "utf8")), expiresAt: new Date(Date.now() - 1000).toISOString() }
    await fs.writeFile(meta, JSON.stringify(expired))
    expect(Exit.isFailure(await Effect.runPromiseExit(uploads.get("svc", info.id)))).toBe(true)
    expect(await Effect.runPromise(uploads.sweep)).toBe(2)
    expect(await fs.readdir(path.join(root, "uploads"))).toEqual([])
  })
})
