/**
 * A rootfs that keeps the image's own owners (ADR 0822), started with `rootfsIdmap`: the launcher mounts
 * it idmapped, so inside the replica root's files belong to the namespace's root and its root may
 * write them (copy-up into the replica's upper dir, shifted on disk). The same tree without the flag
 * shows the overflow ids and refuses the write: the test fails without the feature. The helper's probe
 * says this host can do it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { probeIdmappedRootfs } from "../../../src/runtime/idmapProbe.js"
import { resolveHelperPath } from "../../../src/runtime/index.js"
import { replicaDirs } from "../../../src/runtime/paths.js"
import { Runtime } from "../../../src/runtime/Runtime.js"
import { buildBusyboxRootfs } from "../../support/busybox-rootfs.js"
import { type Env, isRoot, logText, makeEnv } from "./support.js"

describe.skipIf(!isRoot)("idmapped rootfs (privileged)", () => {
  let env: Env
  let imageRoot: string
  beforeAll(async () => {
    env = await makeEnv()
    imageRoot = await buildBusyboxRootfs(path.join(env.dir, "image"), { owner: 0 })
    fs.mkdirSync(path.join(imageRoot, "data"), { mode: 0o755 })
    fs.writeFileSync(path.join(imageRoot, "data", "owned"), "image\n", { mode: 0o644 })
  })
  afterAll(() => env.cleanup())

  const script = [
    "stat -c %u:%g /bin/busybox /data/owned",
    "if echo more >> /data/owned; then echo wrote; else echo refused; fi",
    "cat /data/owned"
  ].join("; ")

  const run = (replica: string, rootfsIdmap: boolean) =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const r = yield* rt.start({
        service: `idmap-${replica}`,
        deployment: "d1",
        replica,
        rootfs: imageRoot,
        ...(rootfsIdmap ? { rootfsIdmap: true } : {}),
        argv: ["/bin/sh", "-c", script],
        env: { PATH: "/bin" }
      })
      yield* r.exit
      const ref = { service: `idmap-${replica}`, deployment: "d1", replica }
      const upper = path.join(replicaDirs(env.dataDir, ref).upper, "data", "owned")
      const upperOwner = fs.existsSync(upper) ? fs.lstatSync(upper).uid : undefined
      const logs = yield* rt.logs(`idmap-${replica}`, { lines: 100 })
      yield* rt.stop(r)
      return { out: logText(logs.lines), upperOwner }
    }).pipe(Effect.scoped, Effect.provide(env.layer))

  it.live("shows the image's owners as the namespace's, and root writes through copy-up", () =>
    Effect.gen(function*() {
      const { out, upperOwner } = yield* run("on", true)
      expect(out.slice(0, 4)).toEqual(["0:0", "0:0", "wrote", "image"])
      expect(out[4]).toBe("more")
      expect(upperOwner).toBe(env.options.usernsBase)
      // the image's own file is untouched
      expect(fs.readFileSync(path.join(imageRoot, "data", "owned"), "utf8")).toBe("image\n")
    }))

  it.live("without the flag the same tree is nobody's inside", () =>
    Effect.gen(function*() {
      const { out } = yield* run("off", false)
      expect(out.slice(0, 3)).toEqual(["65534:65534", "65534:65534", "refused"])
    }))

  it.live("the helper's probe finds idmapped overlay lowers on this host", () =>
    Effect.gen(function*() {
      const r = yield* probeIdmappedRootfs(resolveHelperPath(), env.dir)
      expect(r, r.reason).toMatchObject({ ok: true })
      expect(fs.readdirSync(env.dir).filter((n) => n.startsWith(".probe-idmap"))).toEqual([])
    }))
})
