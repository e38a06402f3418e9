/** Build paths stay inside the checkout: `..`, absolute paths and symlinks that lead out are refused. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { checkTree, confineBuild } from "../../../src/builder/git/confine.js"
import { makeTempDir } from "../../support/tempDir.js"

const temp = makeTempDir("denia-confine-")
afterAll(() => temp.cleanup())

const checkout = (name: string) => {
  const root = path.join(temp.dir, name)
  fs.mkdirSync(path.join(root, "app"), { recursive: true })
  fs.writeFileSync(path.join(root, "app", "Dockerfile"), "FROM scratch\n")
  fs.writeFileSync(path.join(root, "Dockerfile"), "FROM scratch\n")
  return root
}
const outside = path.join(temp.dir, "outside")
fs.mkdirSync(outside)
fs.writeFileSync(path.join(outside, "Dockerfile"), "FROM scratch\n")

const limits = { maxBytes: 1024 * 1024, maxEntries: 1000 }

describe("confineBuild", () => {
  it.effect("resolves a context and a Dockerfile inside the checkout", () =>
    Effect.gen(function*() {
      const root = checkout("ok")
      const confined = yield* confineBuild(root, "app", "Dockerfile")
      expect(confined.contextDir).toBe(fs.realpathSync(path.join(root, "app")))
      expect(confined.dockerfile).toBe("Dockerfile")
      const top = yield* confineBuild(root, ".", "app/Dockerfile")
      expect(top.dockerfile).toBe("app/Dockerfile")
    }))

  it.effect("refuses '..' and absolute paths before touching the disk", () =>
    Effect.gen(function*() {
      const root = checkout("lexical")
      const up = yield* Effect.flip(confineBuild(root, "../outside", "Dockerfile"))
      expect(up.message).toMatch(/^context: /)
      const abs = yield* Effect.flip(confineBuild(root, ".", "/etc/passwd"))
      expect(abs.message).toMatch(/^dockerfile: /)
    }))

  it.effect("refuses a symlinked context directory that points outside the checkout", () =>
    Effect.gen(function*() {
      const root = checkout("linkdir")
      fs.symlinkSync(outside, path.join(root, "evil"))
      const error = yield* Effect.flip(confineBuild(root, "evil", "Dockerfile"))
      expect(error.reason).toBe("confinement")
      expect(error.message).toContain("outside the checkout")
    }))

  it.effect("refuses a Dockerfile symlink that leaves the context", () =>
    Effect.gen(function*() {
      const root = checkout("linkfile")
      fs.symlinkSync(path.join(outside, "Dockerfile"), path.join(root, "app", "Linked"))
      const error = yield* Effect.flip(confineBuild(root, "app", "Linked"))
      expect(error.message).toMatch(/^dockerfile: .*outside the context/)
    }))

  it.effect("refuses a missing context and a Dockerfile that is a directory", () =>
    Effect.gen(function*() {
      const root = checkout("missing")
      expect((yield* Effect.flip(confineBuild(root, "nope", "Dockerfile"))).message).toContain("does not exist")
      fs.mkdirSync(path.join(root, "app", "dir"))
      expect((yield* Effect.flip(confineBuild(root, "app", "dir"))).message).toContain("is not a file")
    }))
})

describe("checkTree", () => {
  it.effect("accepts links that stay inside and refuses links that leave, lexically or through another link", () =>
    Effect.gen(function*() {
      const root = checkout("tree")
      fs.symlinkSync("app/Dockerfile", path.join(root, "inside"))
      yield* checkTree(root, limits)
      const abs = checkout("tree-abs")
      fs.symlinkSync("/etc/passwd", path.join(abs, "app", "passwd"))
      expect((yield* Effect.flip(checkTree(abs, limits))).message).toBe(
        "app/passwd: symlink points outside the repository (absolute target)"
      )
      const chained = checkout("tree-chain")
      fs.symlinkSync(".", path.join(chained, "self"))
      fs.symlinkSync("self/..", path.join(chained, "up"))
      expect((yield* Effect.flip(checkTree(chained, limits))).message).toContain("up: symlink points outside")
    }))

  it.effect("enforces the byte and entry caps", () =>
    Effect.gen(function*() {
      const root = checkout("caps")
      fs.writeFileSync(path.join(root, "big"), Buffer.alloc(2048))
      expect((yield* Effect.flip(checkTree(root, { maxBytes: 1024, maxEntries: 100 }))).reason).toBe("limit")
      expect((yield* Effect.flip(checkTree(root, { maxBytes: 1 << 20, maxEntries: 2 }))).message).toContain("more than 2 files")
    }))
})
