import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readInRoot, resolveUser } from "../../../src/oci/processManifest.js"
import { OciFailure } from "../../../src/oci/transport.js"
import { GROUP, PASSWD } from "../../support/ociImages.js"

describe("USER resolution", () => {
  let root: string
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "denia-user-"))
    await fs.mkdir(path.join(root, "etc"))
    await fs.mkdir(path.join(root, "usr/lib"), { recursive: true })
    // /etc/passwd is an absolute symlink that must resolve inside the rootfs, not on the host
    await fs.writeFile(path.join(root, "usr/lib/passwd"), PASSWD)
    await fs.symlink("/usr/lib/passwd", path.join(root, "etc/passwd"))
    await fs.writeFile(path.join(root, "etc/group"), GROUP)
  })
  afterAll(async () => fs.rm(root, { recursive: true, force: true }))

  const resolve = (spec: string, size = 65536) => resolveUser(root, spec, size)
  const failure = async (spec: string, size = 65536) => {
    try {
      await resolve(spec, size)
    } catch (e) {
      if (e instanceof OciFailure) return e.error
      throw e
    }
    throw new Error(`expected ${spec} to fail`)
  }

  it("resolves empty, numeric, names and user:group forms", async () => {
    expect(await resolve("")).toEqual({ uid: 0, gid: 0, additionalGids: [] })
    expect(await resolve("app")).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 50] })
    expect(await resolve("svc")).toEqual({ uid: 2000, gid: 2500, additionalGids: [50] })
    expect(await resolve("1000")).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 50] })
    expect(await resolve("4242")).toEqual({ uid: 4242, gid: 0, additionalGids: [] })
    expect(await resolve("app:staff")).toEqual({ uid: 1000, gid: 50, additionalGids: [] })
    expect(await resolve("4242:4343")).toEqual({ uid: 4242, gid: 4343, additionalGids: [] })
    expect(await resolve("svc:1000")).toEqual({ uid: 2000, gid: 1000, additionalGids: [] })
  })

  it("fails on unknown users and groups", async () => {
    const u = await failure("ghost")
    expect(u._tag).toBe("denia/oci/UnknownImageUser")
    const g = await failure("app:ghosts")
    expect(g._tag).toBe("denia/oci/UnknownImageUser")
    expect(g.message).toContain("ghosts")
  })

  it("fails on ids outside the user namespace", async () => {
    const e = await failure("nobody", 65534)
    expect(e._tag).toBe("denia/oci/IdOutOfRange")
    expect((await failure("70000:0"))._tag).toBe("denia/oci/IdOutOfRange")
    expect((await failure("0:70000"))._tag).toBe("denia/oci/IdOutOfRange")
    expect((await failure("app", 1000))._tag).toBe("denia/oci/IdOutOfRange")
  })

  it("reads files through in-root symlinks only", async () => {
    expect(await readInRoot(root, "/etc/passwd")).toBe(PASSWD)
    await fs.symlink("../../../../../../../etc/hostname", path.join(root, "etc/escape"))
    const text = await readInRoot(root, "/etc/escape")
    // resolves to <root>/etc/hostname, which does not exist in the rootfs
    expect(text).toBeUndefined()
  })
})
