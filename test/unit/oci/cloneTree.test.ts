/** The chain snapshot clone off the event loop (chains.ts `cloneTreeOffLoop`, ADR 0805). */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { cloneTreeOffLoop } from "../../../src/oci/chains.js"
import { makeTempDir } from "../../support/tempDir.js"

let cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups) c()
  cleanups = []
})

const tree = () => {
  const t = makeTempDir()
  cleanups.push(t.cleanup)
  const src = path.join(t.dir, "src")
  const dst = path.join(t.dir, "dst")
  fs.mkdirSync(path.join(src, "usr", "lib"), { recursive: true, mode: 0o700 })
  fs.chmodSync(src, 0o700)
  fs.writeFileSync(path.join(src, "usr", "lib", "a.so"), "library", { mode: 0o755 })
  fs.symlinkSync("lib/a.so", path.join(src, "usr", "link"))
  fs.symlinkSync("/etc/passwd", path.join(src, "abs"))
  fs.mkdirSync(dst, { mode: 0o700 })
  return { src, dst }
}

describe("cloneTreeOffLoop", () => {
  it("recreates directories, hard-links files and keeps symlinks unfollowed", async () => {
    const { dst, src } = tree()
    await cloneTreeOffLoop(src, dst)
    const file = path.join(dst, "usr", "lib", "a.so")
    expect(fs.readFileSync(file, "utf8")).toBe("library")
    expect(fs.statSync(file).ino).toBe(fs.statSync(path.join(src, "usr", "lib", "a.so")).ino)
    expect(fs.statSync(path.join(dst, "usr", "lib")).isDirectory()).toBe(true)
    expect(fs.statSync(path.join(dst, "usr", "lib")).ino).not.toBe(fs.statSync(path.join(src, "usr", "lib")).ino)
    expect(fs.statSync(path.join(dst, "usr")).mode & 0o777).toBe(0o700)
    expect(fs.readlinkSync(path.join(dst, "usr", "link"))).toBe("lib/a.so")
    expect(fs.readlinkSync(path.join(dst, "abs"))).toBe("/etc/passwd")
    expect(fs.lstatSync(path.join(dst, "abs")).isSymbolicLink()).toBe(true)
  })

  it("falls back to the in-process clone when cp fails, from an emptied destination", async () => {
    const { dst, src } = tree()
    // a leftover in dst makes `cp` fail on the name clash (a directory where cp wants a symlink)
    fs.mkdirSync(path.join(dst, "abs", "x"), { recursive: true })
    await expect(cloneTreeOffLoop(src, dst)).resolves.toBeUndefined()
    expect(fs.readlinkSync(path.join(dst, "abs"))).toBe("/etc/passwd")
    expect(fs.readFileSync(path.join(dst, "usr", "lib", "a.so"), "utf8")).toBe("library")
  })

  it("stops when aborted", async () => {
    const { dst, src } = tree()
    const controller = new AbortController()
    controller.abort()
    await expect(cloneTreeOffLoop(src, dst, controller.signal)).rejects.toThrow(/cancelled/)
  })
})
