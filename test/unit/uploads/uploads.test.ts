import { Effect, Exit } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import { afterEach, describe, expect, it } from "vitest"
import { linkStaysInside } from "../../../src/builder/uploads/rules.js"
import { makeUploads } from "../../../src/builder/uploads/Uploads.js"
import { corpusCaps, gzipped, hostileCorpus, plainOf, tarOf, zstded } from "../../support/tarballs.js"

const roots: Array<string> = []
afterEach(async () => {
  for (const r of roots.splice(0)) await fs.rm(r, { recursive: true, force: true })
})

/** Uploads are checked and unpacked through both paths: the in-process gate and the tar-pipe helper (ADR 0902). */
const HELPER = path.resolve("build/native/denia-init")
const VIA = [["in-process gate", undefined], ["tar-pipe helper", HELPER]] as const

const store = async (tarPipeHelper?: string) => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "denia-uploads-"))
  roots.push(root)
  const uploads = await Effect.runPromise(
    makeUploads({
      dir: path.join(root, "uploads"),
      contextsDir: path.join(root, "contexts"),
      ttlMinutes: 60,
      caps: corpusCaps,
      ...(tarPipeHelper === undefined ? {} : { tarPipeHelper })
    })
  )
  return { root, uploads }
}

/** A helper that records each invocation's arguments in `<dir>/helper.log`, then runs the real one. */
const recordingHelper = async (dir: string) => {
  const file = path.join(dir, "recording-helper")
  await fs.writeFile(file, `#!/bin/sh\necho "$*" >> '${path.join(dir, "helper.log")}'\nexec '${HELPER}' "$@"\n`, { mode: 0o755 })
  return { file, log: () => fs.readFile(path.join(dir, "helper.log"), "utf8").catch(() => "") }
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

for (const [via, helper] of VIA) {
  describe(`upload store (${via})`, () => {
    it("stores a gzip and a zstd context and unpacks it with its links", async () => {
      const { root, uploads } = await store(helper)
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
      const { root, uploads } = await store(helper)
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
      const { uploads } = await store(helper)
      const big = gzipped(Buffer.from(Array.from({ length: 4000 }, (_, i) => `${i}-${Math.random()}`).join("\n").repeat(40)))
      expect(big.length).toBeGreaterThan(corpusCaps.maxBytes)
      for (const declared of [big.length, undefined]) {
        const exit = await Effect.runPromiseExit(uploads.receive("svc", Readable.from([big]), declared))
        const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
        expect(error?._tag === "denia/builder/UploadRejected" ? error.rule : error?._tag).toBe("too-large")
      }
    })

    it("stores a declared plain tar as .tar and unpacks it; undeclared it is a format error (ADR 0820)", async () => {
      const { root, uploads } = await store(helper)
      const archive = await tarOf([
        { name: "Dockerfile", content: "FROM scratch\n" },
        { name: "app/main.py", content: "print(2)\n" },
        { name: "app/link", type: "symlink", linkname: "main.py" }
      ])
      const info = await Effect.runPromise(uploads.receive("svc", Readable.from([archive]), archive.length, true))
      expect(info).toMatchObject({ format: "tar", bytes: archive.length, entries: 3 })
      expect(await fs.readdir(path.join(root, "uploads"))).toEqual([`${info.id}.json`, `${info.id}.tar`].sort())
      const main = await Effect.runPromise(
        uploads.withContext("svc", info.id, (dir) => Effect.promise(() => fs.readFile(path.join(dir, "app/main.py"), "utf8")))
      )
      expect(main).toBe("print(2)\n")
      const exit = await Effect.runPromiseExit(uploads.receive("svc", Readable.from([archive]), archive.length))
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error?._tag === "denia/builder/UploadRejected" ? [error.rule, error.message] : error?._tag).toEqual([
        "format",
        expect.stringContaining("application/x-tar")
      ])
      // cut at an entry boundary, before its end block: only the end block tells a plain tar is whole
      const whole = await tarOf([{ name: "Dockerfile", content: "FROM scratch\n" }, { name: "b", content: "b" }])
      const cut = whole.subarray(0, 1024)
      const cutExit = await Effect.runPromiseExit(uploads.receive("svc", Readable.from([cut]), cut.length, true))
      const cutError = Exit.isFailure(cutExit) && cutExit.cause._tag === "Fail" ? cutExit.cause.error : undefined
      expect(cutError?._tag === "denia/builder/UploadRejected" ? cutError.rule : cutError?._tag).toBe("format")
      // a compressed body declared as a plain tar is read by its magic
      const zipped = await Effect.runPromise(uploads.receive("svc", Readable.from([gzipped(archive)]), undefined, true))
      expect(zipped.format).toBe("gzip")
    })

    it("refuses the hostile corpus sent as plain tars, naming rule and entry, and keeps nothing", async () => {
      const { root, uploads } = await store(helper)
      // the corpus's format cases are about compression; a plain tar's own is text declared as one
      const corpus = (await hostileCorpus()).filter(([, rule]) => rule !== "format")
      const text = Buffer.from("this is not a tar archive at all, just text".repeat(40))
      for (
        const [name, rule, entry, status, body] of [
          ...corpus.map(([n, r, e, st, b]) => [n, r, e, st, plainOf(b)] as const),
          ["text declared as a tar", "format", "", 400, text] as const
        ]
      ) {
        const exit = await Effect.runPromiseExit(uploads.receive("svc", Readable.from([body]), body.length, true))
        if (!Exit.isFailure(exit)) throw new Error(`${name}: accepted`)
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        expect(error?._tag === "denia/builder/UploadRejected" ? [error.rule, error.entry, error.status] : error?._tag, name)
          .toEqual([rule, entry, status])
      }
      expect(await tree(root)).toEqual(["uploads"])
    })

    it("holds a plain tar to the unpacked cap, not the compressed one; a compressed body declared plain to the compressed cap", async () => {
      const { uploads } = await store(helper)
      // past upload_max_mb, within upload_max_unpacked_mb
      const archive = await tarOf([{ name: "Dockerfile", content: "FROM scratch\n" }, { name: "big", content: "z".repeat(1536 * 1024) }])
      expect(archive.length).toBeGreaterThan(corpusCaps.maxBytes)
      const info = await Effect.runPromise(uploads.receive("svc", Readable.from([archive]), archive.length, true))
      expect(info.format).toBe("tar")
      const big = gzipped(Buffer.from(Array.from({ length: 4000 }, (_, i) => `${i}-${Math.random()}`).join("\n").repeat(40)))
      expect(big.length).toBeGreaterThan(corpusCaps.maxBytes)
      for (const declared of [big.length, undefined]) {
        const exit = await Effect.runPromiseExit(uploads.receive("svc", Readable.from([big]), declared, true))
        const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
        expect(error?._tag === "denia/builder/UploadRejected" ? error.rule : error?._tag).toBe("too-large")
      }
      // a declared length past the plain tar's own cap is refused before a byte is read
      const exit = await Effect.runPromiseExit(uploads.receive("svc", Readable.from([archive]), 2 ** 40, true))
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error?._tag === "denia/builder/UploadRejected" ? [error.rule, error.status] : error?._tag).toEqual(["too-large", 413])
    })

    it("refuses a body that is not a valid archive as a format error", async () => {
      const { root, uploads } = await store(helper)
      const archive = await tarOf([{ name: "Dockerfile", content: "FROM scratch\n" }, { name: "big", content: "x".repeat(20_000) }])
      const cut = zstded(archive).subarray(0, 40)
      for (
        const body of [cut, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(600, 7)]), gzipped(Buffer.alloc(2048, 1))]
      ) {
        const exit = await Effect.runPromiseExit(uploads.receive("svc", Readable.from([body]), body.length))
        const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
        expect(error?._tag === "denia/builder/UploadRejected" ? error.rule : error?._tag).toBe("format")
      }
      expect(await tree(root)).toEqual(["uploads"])
    })
  })
}

describe("upload store with the tar-pipe helper", () => {
  it("checks the received body through the helper's tar pipe", async () => {
    const { root } = await store()
    const recording = await recordingHelper(root)
    const uploads = await Effect.runPromise(
      makeUploads({
        dir: path.join(root, "uploads"),
        contextsDir: path.join(root, "contexts"),
        ttlMinutes: 60,
        caps: corpusCaps,
        tarPipeHelper: recording.file
      })
    )
    const body = zstded(await tarOf([{ name: "Dockerfile", content: "FROM scratch\n" }, { name: "a.txt", content: "a".repeat(5000) }]))
    const info = await Effect.runPromise(uploads.receive("svc", Readable.from([body]), body.length))
    expect(info.entries).toBe(2)
    expect(info.unpackedBytes).toBe(5000 + "FROM scratch\n".length)
    // the probe (no control fd), then the check itself (control channel on fd 3); nothing else ran yet
    expect((await recording.log()).trim().split("\n")).toEqual(["tar-pipe", "tar-pipe 3"])
  })
})

describe("upload expiry", () => {
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
