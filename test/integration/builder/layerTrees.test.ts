/**
 * locateLayerTrees (ADR 0822) against a real buildah storage: a three-layer image built from busybox,
 * whose last step deletes a file of the first (a whiteout). The trees come bottom first with the
 * digests buildah records in the image's config, and merged by hard links they are the tree buildah
 * itself mounts for the image. Missing names and ids beyond the namespace's size give undefined.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { locateLayerTrees } from "../../../src/builder/layerTrees.js"
import { mergeLayerTrees } from "../../../src/oci/mergeTrees.js"
import { resolveHelperPath } from "../../../src/runtime/index.js"
import { findStaticBusybox } from "../../support/busybox-rootfs.js"
import { treeListing } from "../../support/treeListing.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("layer tree tests skipped: they need root (buildah with overlay storage)")

describe.runIf(privileged)("locateLayerTrees (privileged)", () => {
  let dir: string
  const buildah = (...args: Array<string>) =>
    execFileSync(
      "buildah",
      ["--root", path.join(dir, "root"), "--runroot", path.join(dir, "run"), "--storage-driver", "overlay", ...args],
      {
        encoding: "utf8",
        env: { ...process.env, BUILDAH_ISOLATION: "chroot" }
      }
    ).trim()

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-trees-"))
    const ctx = path.join(dir, "ctx")
    fs.mkdirSync(ctx)
    fs.copyFileSync(findStaticBusybox() ?? "/bin/busybox", path.join(ctx, "busybox"))
    fs.writeFileSync(path.join(ctx, "gone"), "gone\n")
    fs.writeFileSync(
      path.join(ctx, "Dockerfile"),
      [
        "FROM scratch",
        "COPY busybox /bin/busybox",
        "COPY gone /etc/gone",
        `RUN ["/bin/busybox", "sh", "-c", "/bin/busybox rm /etc/gone && /bin/busybox mkdir -p /srv && echo made > /srv/made"]`,
        ""
      ].join("\n")
    )
    buildah("build", "--isolation", "chroot", "--layers", "-t", "localhost/denia-build/p/s:d1", ctx)
  }, 300_000)
  afterAll(() => {
    try {
      buildah("rm", "--all")
    } catch {
      // nothing mounted
    }
    execFileSync("sh", ["-c", `grep -o ' ${dir}[^ ]*' /proc/mounts | xargs -r -n1 umount -l || true`])
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("finds the image's trees bottom first, with the config's diff_ids, and they merge into the image's tree", async () => {
    const trees = await locateLayerTrees(path.join(dir, "root"), "localhost/denia-build/p/s:d1", 65536)
    expect(trees).toBeDefined()
    const inspected = JSON.parse(buildah("inspect", "--type", "image", "localhost/denia-build/p/s:d1")) as {
      OCIv1: { rootfs: { diff_ids: Array<string> } }
    }
    const diffIds = inspected.OCIv1.rootfs.diff_ids
    expect(trees?.map((t) => t.diffId)).toEqual(diffIds)
    expect(trees?.length).toBe(3)
    for (const t of trees ?? []) expect(t.size).toBeGreaterThan(0)
    const rootfs = path.join(dir, "merged")
    fs.mkdirSync(rootfs)
    await mergeLayerTrees((trees ?? []).map((t) => t.dir), rootfs, { maxEntries: 10_000 }, { helperPath: resolveHelperPath() })
    const container = buildah("from", "--pull=never", "localhost/denia-build/p/s:d1")
    const mounted = buildah("mount", container)
    expect(treeListing(rootfs)).toEqual(treeListing(mounted))
    expect(fs.existsSync(path.join(rootfs, "etc", "gone"))).toBe(false)
    expect(fs.readFileSync(path.join(rootfs, "srv", "made"), "utf8")).toBe("made\n")
  })

  it("gives undefined for an unknown name and for ids at or beyond the namespace's size", async () => {
    expect(await locateLayerTrees(path.join(dir, "root"), "localhost/denia-build/p/s:other", 65536)).toBeUndefined()
    expect(await locateLayerTrees(path.join(dir, "root"), "localhost/denia-build/p/s:d1", 0)).toBeUndefined()
    expect(await locateLayerTrees(path.join(dir, "nowhere"), "localhost/denia-build/p/s:d1", 65536)).toBeUndefined()
  })
})
