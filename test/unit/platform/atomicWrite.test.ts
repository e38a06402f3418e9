import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import {
  ensureDirectory,
  publishFile,
  publishFilePromise,
  writeFileAtomic,
  writeFileAtomicPromise
} from "../../../src/platform/atomicWrite.js"
import { makeTempDir } from "../secrets/helpers.js"

const withTemp = <A, E>(f: (dir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => makeTempDir("denia-atomic-")),
    f,
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

const write = (target: string, text: string, noReplace = false) =>
  writeFileAtomic(target, Buffer.from(text), { mode: 0o600, noReplace }).pipe(Effect.provide(NodeFileSystem.layer))

describe("writeFileAtomic", () => {
  it.effect("replaces the target in one step with mode 0600, leaving no temp file", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const target = path.join(dir, "s.sops.yaml")
        fs.writeFileSync(target, "old", { mode: 0o644 })
        yield* write(target, "new")
        expect(fs.readFileSync(target, "utf8")).toBe("new")
        expect(fs.statSync(target).mode & 0o777).toBe(0o600)
        expect(fs.readdirSync(dir)).toEqual(["s.sops.yaml"])
      })
    ))

  it.effect("noReplace never overwrites: AlreadyExists, original intact, temp removed", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const target = path.join(dir, "key.txt")
        fs.writeFileSync(target, "original")
        const r = yield* Effect.either(write(target, "intruder", true))
        if (Either.isRight(r)) throw new Error("overwrote")
        expect(r.left._tag === "SystemError" && r.left.reason).toBe("AlreadyExists")
        expect(fs.readFileSync(target, "utf8")).toBe("original")
        expect(fs.readdirSync(dir)).toEqual(["key.txt"])
      })
    ))

  it.effect("a failed rename removes the temp file", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const target = path.join(dir, "occupied")
        fs.mkdirSync(path.join(target, "child"), { recursive: true })
        const r = yield* Effect.either(write(target, "x"))
        expect(Either.isLeft(r)).toBe(true)
        expect(fs.readdirSync(dir)).toEqual(["occupied"])
      })
    ))

  it.effect("ensureDirectory creates 0700 directories and tightens existing ones when asked", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const d = path.join(dir, "a", "b")
        yield* ensureDirectory(d, 0o700, false).pipe(Effect.provide(NodeFileSystem.layer))
        expect(fs.statSync(d).mode & 0o777).toBe(0o700)
        fs.chmodSync(d, 0o755)
        yield* ensureDirectory(d, 0o700, false).pipe(Effect.provide(NodeFileSystem.layer))
        expect(fs.statSync(d).mode & 0o777).toBe(0o755)
        yield* ensureDirectory(d, 0o700, true).pipe(Effect.provide(NodeFileSystem.layer))
        expect(fs.statSync(d).mode & 0o777).toBe(0o700)
      })
    ))

  it.effect("the requested mode is applied whatever the umask", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const target = path.join(dir, "cert.pem")
        const before = process.umask(0o077)
        const r = yield* Effect.either(
          writeFileAtomic(target, Buffer.from("pem"), { mode: 0o640 }).pipe(Effect.provide(NodeFileSystem.layer))
        )
        process.umask(before)
        expect(Either.isRight(r)).toBe(true)
        expect(fs.statSync(target).mode & 0o777).toBe(0o640)
      })
    ))
})

describe("publishFile", () => {
  const publish = (tmp: string, target: string, options: { mode?: number; noReplace?: boolean } = {}) =>
    publishFile(tmp, target, options).pipe(Effect.provide(NodeFileSystem.layer))

  it.effect("moves a file written elsewhere over the target with the given mode", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        fs.mkdirSync(path.join(dir, "tmp"))
        fs.mkdirSync(path.join(dir, "blobs"))
        const tmp = path.join(dir, "tmp", "upload-1")
        const target = path.join(dir, "blobs", "abc")
        fs.writeFileSync(target, "stale", { mode: 0o644 })
        fs.writeFileSync(tmp, "streamed bytes", { mode: 0o644 })
        yield* publish(tmp, target, { mode: 0o600 })
        expect(fs.readFileSync(target, "utf8")).toBe("streamed bytes")
        expect(fs.statSync(target).mode & 0o777).toBe(0o600)
        expect(fs.readdirSync(path.join(dir, "tmp"))).toEqual([])
      })
    ))

  it.effect("without a mode the file keeps its own", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const tmp = path.join(dir, "t")
        fs.writeFileSync(tmp, "x")
        fs.chmodSync(tmp, 0o640)
        yield* publish(tmp, path.join(dir, "final"))
        expect(fs.statSync(path.join(dir, "final")).mode & 0o777).toBe(0o640)
      })
    ))

  it.effect("a failed publish leaves the written file to its writer and the target untouched", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const tmp = path.join(dir, "t")
        fs.writeFileSync(tmp, "new")
        const occupied = path.join(dir, "occupied")
        fs.mkdirSync(path.join(occupied, "child"), { recursive: true })
        expect(Either.isLeft(yield* Effect.either(publish(tmp, occupied)))).toBe(true)
        const kept = path.join(dir, "kept")
        fs.writeFileSync(kept, "original")
        const r = yield* Effect.either(publish(tmp, kept, { noReplace: true }))
        if (Either.isRight(r)) throw new Error("replaced")
        expect(r.left._tag === "SystemError" && r.left.reason).toBe("AlreadyExists")
        expect(fs.readFileSync(kept, "utf8")).toBe("original")
        expect(fs.readFileSync(tmp, "utf8")).toBe("new")
      })
    ))

  it.effect("a missing file fails without creating the target", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const r = yield* Effect.either(publish(path.join(dir, "never-written"), path.join(dir, "target")))
        if (Either.isRight(r)) throw new Error("published nothing")
        expect(r.left._tag === "SystemError" && r.left.reason).toBe("NotFound")
        expect(fs.readdirSync(dir)).toEqual([])
      })
    ))
})

describe("promise variants", () => {
  it("write and publish like the effects and reject with the PlatformError, the temp file removed", async () => {
    const dir = makeTempDir("denia-atomic-")
    try {
      const target = path.join(dir, "gc-state.json")
      await writeFileAtomicPromise(target, Buffer.from("{}"), { mode: 0o600 })
      expect(fs.readFileSync(target, "utf8")).toBe("{}")
      expect(fs.statSync(target).mode & 0o777).toBe(0o600)
      await expect(writeFileAtomicPromise(target, Buffer.from("x"), { mode: 0o600, noReplace: true })).rejects.toMatchObject({
        _tag: "SystemError",
        reason: "AlreadyExists"
      })
      expect(fs.readdirSync(dir)).toEqual(["gc-state.json"])
      const tmp = path.join(dir, "download")
      fs.writeFileSync(tmp, "layer")
      await publishFilePromise(tmp, path.join(dir, "blob"), { mode: 0o600 })
      expect(fs.readFileSync(path.join(dir, "blob"), "utf8")).toBe("layer")
      expect(fs.existsSync(tmp)).toBe(false)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
