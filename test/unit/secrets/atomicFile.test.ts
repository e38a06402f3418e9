import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Either } from "effect"
import { ensureDirectory, writeFileAtomic } from "../../../src/platform/atomicWrite.js"
import { makeTempDir } from "./helpers.js"

const withTemp = <A, E>(f: (dir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => makeTempDir("denia-atomic-")),
    f,
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

const write = (target: string, text: string, noReplace = false) =>
  writeFileAtomic(target, Buffer.from(text), { mode: 0o600, noReplace }).pipe(Effect.provide(NodeFileSystem.layer))

describe("atomic secret file writes", () => {
  it.effect("replaces the target in one step with mode 0600, leaving no temp file", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const target = path.join(dir, "s.sops.yaml")
        fs.writeFileSync(target, "old", { mode: 0o644 })
        yield* write(target, "new")
        expect(fs.readFileSync(target, "utf8")).toBe("new")
        expect(fs.statSync(target).mode & 0o777).toBe(0o600)
        expect(fs.readdirSync(dir)).toEqual(["s.sops.yaml"])
      })))

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
      })))

  it.effect("a failed rename removes the temp file", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const target = path.join(dir, "occupied")
        fs.mkdirSync(path.join(target, "child"), { recursive: true })
        const r = yield* Effect.either(write(target, "x"))
        expect(Either.isLeft(r)).toBe(true)
        expect(fs.readdirSync(dir)).toEqual(["occupied"])
      })))

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
      })))
})
