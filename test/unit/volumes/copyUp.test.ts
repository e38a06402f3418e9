/**
 * A volume is created once, on first mount: the image's files at the mount
 * path are copied in with their (already shifted) ownership and modes, links
 * stay links and are never followed; a path the image does not populate (or
 * reaches through a symlink) gives an empty directory owned by the image's
 * user. A second mount never copies again.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { Volumes, type VolumesApi } from "../../../src/volumes/Volumes.js"

const root = process.getuid?.() === 0
const BASE = 200000
const PROJECT = "0190e6a0-0000-7000-8000-000000000001"

let work: string
let rootfs: string
let volumes: VolumesApi
let scope: Scope.CloseableScope

beforeEach(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "denia-copyup-"))
  rootfs = path.join(work, "rootfs")
  const data = path.join(rootfs, "var", "lib", "app", "data")
  fs.mkdirSync(path.join(data, "conf"), { recursive: true })
  fs.writeFileSync(path.join(data, "conf", "app.conf"), "listen 0.0.0.0\n", { mode: 0o640 })
  fs.symlinkSync("/etc/shadow", path.join(data, "shadow-link"))
  fs.chmodSync(data, 0o700)
  fs.symlinkSync("/etc", path.join(rootfs, "var", "lib", "escape"))
  if (root) {
    for (const p of ["", "conf", "conf/app.conf"]) fs.chownSync(path.join(data, p), BASE + 999, BASE + 998)
    fs.lchownSync(path.join(data, "shadow-link"), BASE + 999, BASE + 998)
  }
  fs.mkdirSync(path.join(work, "data"))
  scope = await Effect.runPromise(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(
      Volumes.layer({
        dataDir: path.join(work, "data"),
        usernsBase: BASE,
        usernsSize: 65536,
        maxArchiveBytes: 1 << 20,
        maxUnpackedBytes: 1 << 20,
        maxArchiveEntries: 100
      }),
      scope
    )
  )
  volumes = Context.get(context, Volumes)
})
afterEach(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  fs.rmSync(work, { recursive: true, force: true })
})

const attach = (mountPath: string, name = "data") =>
  Effect.runPromise(
    Effect.scoped(
      volumes.attach({ projectId: PROJECT, serviceName: "app" }, [{ name, mountPath, readOnly: false }], { rootfs, uid: 1000, gid: 1001 })
    )
  )

describe("volume creation", () => {
  it("copies the image's files with ownership and modes on first mount, once", async () => {
    const [m] = await attach("/var/lib/app/data")
    expect(m?.origin).toBe("copied")
    const vol = m?.source ?? ""
    expect(vol).toBe(path.join(fs.realpathSync(work), "data", "volumes", PROJECT, "app", "data"))
    expect(fs.readFileSync(path.join(vol, "conf", "app.conf"), "utf8")).toBe("listen 0.0.0.0\n")
    expect(fs.statSync(path.join(vol, "conf", "app.conf")).mode & 0o777).toBe(0o640)
    expect(fs.statSync(vol).mode & 0o777).toBe(0o700)
    // the link is copied as a link, not followed
    expect(fs.readlinkSync(path.join(vol, "shadow-link"))).toBe("/etc/shadow")
    if (root) {
      expect(fs.statSync(vol).uid).toBe(BASE + 999)
      expect(fs.statSync(path.join(vol, "conf", "app.conf")).gid).toBe(BASE + 998)
      expect(fs.lstatSync(path.join(vol, "shadow-link")).uid).toBe(BASE + 999)
    }
    // the workload changes the volume; a later mount never copies the image's files again
    fs.rmSync(path.join(vol, "conf"), { recursive: true })
    const [again] = await attach("/var/lib/app/data")
    expect(again?.origin).toBe("existing")
    expect(fs.existsSync(path.join(vol, "conf"))).toBe(false)
  })

  it("an unpopulated path gives an empty directory owned by the image's user", async () => {
    const [m] = await attach("/srv/uploads", "uploads")
    expect(m?.origin).toBe("empty")
    expect(fs.readdirSync(m?.source ?? "")).toEqual([])
    expect(fs.statSync(m?.source ?? "").mode & 0o777).toBe(0o755)
    if (root) expect([fs.statSync(m?.source ?? "").uid, fs.statSync(m?.source ?? "").gid]).toEqual([BASE + 1000, BASE + 1001])
  })

  it("a mount path reached through a symlink in the image copies nothing (never follows it out of the bundle)", async () => {
    const [m] = await attach("/var/lib/escape", "esc")
    expect(m?.origin).toBe("empty")
    expect(fs.readdirSync(m?.source ?? "")).toEqual([])
  })

  it.runIf(root)("a symlink planted where the service's volume directory goes is refused", async () => {
    const serviceDir = path.join(work, "data", "volumes", PROJECT)
    fs.mkdirSync(serviceDir, { recursive: true })
    fs.symlinkSync(path.join(work, "rootfs"), path.join(serviceDir, "app"))
    const exit = await Effect.runPromiseExit(
      Effect.scoped(volumes.attach({ projectId: PROJECT, serviceName: "app" }, [{ name: "d", mountPath: "/d", readOnly: false }], {
        rootfs,
        uid: 0,
        gid: 0
      }))
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(fs.existsSync(path.join(work, "rootfs", "d"))).toBe(false)
  })
})
