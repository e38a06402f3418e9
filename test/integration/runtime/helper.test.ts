/** The helper binary on its own: protocol errors and its own symlink refusal
 * (defence in depth behind the TypeScript checks). */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { resolveHelperPath } from "../../../src/runtime/helperPath.js"
import { buildBusyboxRootfs } from "../../support/busybox-rootfs.js"
import { isRoot } from "./support.js"

const helper = resolveHelperPath()

/** Run `denia-init launch` with `input` on stdin; collect status lines (fd 3). */
const launch = (input: string) =>
  new Promise<{ code: number | null; status: string }>((resolve, reject) => {
    const child = spawn(helper, ["launch"], { stdio: ["pipe", "ignore", "ignore", "pipe"] })
    let status = ""
    const fd3 = child.stdio[3]
    if (fd3 === null || fd3 === undefined || !("on" in fd3)) return reject(new Error("no status pipe"))
    fd3.on("data", (c: Buffer) => (status += c.toString()))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, status }))
    child.stdin?.end(input)
  })

describe("denia-init helper", () => {
  it("is a static binary", () => {
    const buf = fs.readFileSync(helper)
    expect(buf.subarray(0, 4).toString("latin1")).toBe("\x7fELF")
    // no PT_INTERP program header
    const phoff = Number(buf.readBigUInt64LE(0x20))
    const phentsize = buf.readUInt16LE(0x36)
    const phnum = buf.readUInt16LE(0x38)
    const types = Array.from({ length: phnum }, (_, i) => buf.readUInt32LE(phoff + i * phentsize))
    expect(types).not.toContain(3)
  })

  it("reports a malformed spec as `failed spec`", async () => {
    expect(await launch("{nope")).toEqual({ code: 1, status: expect.stringMatching(/^failed spec: .+\n$/) })
    expect((await launch("{\"rootfs\":\"/x\"}")).status).toMatch(/^failed spec: .*required/)
    expect((await launch("{\"bogus\":1}")).status).toBe("failed spec: unknown key\n")
    const valid = {
      rootfs: "/r",
      upper: "/u",
      work: "/w",
      merged: "/m",
      sockDir: "/s",
      argv: ["/bin/true"],
      usernsBase: 100000,
      usernsSize: 65536
    }
    expect((await launch(JSON.stringify({ ...valid, mounts: ["ro", "/a"] }))).status).toBe(
      "failed spec: mounts must be (mode, source, target) triples\n"
    )
    expect((await launch(JSON.stringify({ ...valid, mounts: ["rx", "/a", "/b"] }))).status).toBe(
      "failed spec: mount mode must be ro or rw\n"
    )
    expect((await launch(JSON.stringify({ ...valid, stopSignal: 0 }))).status).toMatch(/^failed spec: stopSignal/)
    expect((await launch(JSON.stringify({ ...valid, stopSignal: 65 }))).status).toBe("failed spec: integer out of range\n")
    expect((await launch(JSON.stringify({ ...valid, nofileSoft: 10, nofileHard: 5 }))).status).toMatch(/nofileSoft <= nofileHard/)
  })
})

if (!isRoot) console.log("skipping helper mount tests: they need root")

describe.skipIf(!isRoot)("denia-init helper (privileged)", () => {
  it("refuses a bundle whose /run is a symlink, without writing through it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-helper-"))
    try {
      const rootfs = await buildBusyboxRootfs(path.join(dir, "rootfs"), { symlinks: { run: "/etc" } })
      const r = path.join(dir, "r")
      for (const d of ["upper", "work", "merged", "sock"]) fs.mkdirSync(path.join(r, d), { recursive: true })
      const spec = {
        rootfs,
        upper: path.join(r, "upper"),
        work: path.join(r, "work"),
        merged: path.join(r, "merged"),
        sockDir: path.join(r, "sock"),
        argv: ["/bin/true"],
        env: [],
        usernsBase: 100000,
        usernsSize: 65536,
        port: 8080
      }
      const res = await launch(JSON.stringify(spec))
      expect(res.code).toBe(1)
      expect(res.status).toBe("failed mount run: /run/denia: symlink in path refused\n")
      expect(fs.existsSync("/etc/denia")).toBe(false)
      expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(r)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("reports a missing program as `failed exec`", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-helper-"))
    try {
      const rootfs = await buildBusyboxRootfs(path.join(dir, "rootfs"))
      const r = path.join(dir, "r")
      for (const d of ["upper", "work", "merged", "sock"]) fs.mkdirSync(path.join(r, d), { recursive: true })
      const spec = {
        rootfs,
        upper: path.join(r, "upper"),
        work: path.join(r, "work"),
        merged: path.join(r, "merged"),
        sockDir: path.join(r, "sock"),
        argv: ["/nope"],
        env: [],
        usernsBase: 100000,
        usernsSize: 65536
      }
      const res = await launch(JSON.stringify(spec))
      expect(res).toEqual({ code: 1, status: "failed exec: No such file or directory\n" })
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
