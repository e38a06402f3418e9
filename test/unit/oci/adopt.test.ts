/**
 * adoptBuilt's checks before anything is linked (ADR 0822): the reference must name the digest the
 * registry resolves, the config's diff_ids must be exactly the build storage's layers, the layer count
 * must match the manifest and the size stay under the unpack cap; an existing bundle is returned as is.
 */
import { Effect, Exit, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { type AdoptDeps, makeAdoptBuilt } from "../../../src/oci/adopt.js"
import type { PulledImage, ResolvedImage } from "../../../src/oci/api.js"
import { anonymous } from "../../../src/oci/auth.js"
import type { ImageConfig } from "../../../src/oci/manifest.js"

const digest = `sha256:${"a".repeat(64)}`
const layer = (c: string) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${c.repeat(64)}`, size: 10 })
const diff = (c: string) => `sha256:${c.repeat(64)}`

const resolved: ResolvedImage = {
  reference: `127.0.0.1:5000/p/s@${digest}`,
  digest,
  indexDigest: undefined,
  platform: "linux/amd64",
  manifest: {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"c".repeat(64)}`, size: 2 },
    layers: [layer("1"), layer("2")]
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-adopt-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const deps = (config: ImageConfig, existing?: PulledImage): AdoptDeps => ({
  artifactsDir: dir,
  helperPath: "/nonexistent",
  usernsSize: 65536,
  maxBytes: 1000,
  maxEntries: 1000,
  resolve: () => Effect.succeed(resolved),
  readConfig: () => Effect.succeed(config),
  readBundle: () => Effect.succeed(Option.fromNullable(existing))
})

const trees = [{ diffId: diff("d"), dir: "/x", size: 1 }, { diffId: diff("e"), dir: "/y", size: 1 }]

const reason = async (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) return "succeeded"
  const e = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  return (e as { reason?: string } | undefined)?.reason ?? String(exit.cause)
}

describe("adoptBuilt checks", () => {
  const run = (config: ImageConfig, reference = resolved.reference, t = trees, existing?: PulledImage) =>
    Effect.runPromiseExit(makeAdoptBuilt(deps(config, existing))(reference, anonymous, t))

  it("refuses diff_ids that are not the build storage's layers, in order", async () => {
    expect(await reason(await run({ rootfs: { type: "layers", diff_ids: [diff("e"), diff("d")] } }))).toMatch(/do not match/)
    expect(await reason(await run({ rootfs: { type: "layers", diff_ids: [diff("d")] } }))).toMatch(/do not match/)
    expect(await reason(await run({}))).toMatch(/do not match/)
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it("refuses a reference without a digest and a size over the cap", async () => {
    expect(await reason(await run({}, "127.0.0.1:5000/p/s:tag"))).toMatch(/does not name a digest/)
    const big = trees.map((t) => ({ ...t, size: 600 }))
    expect(await reason(await run({ rootfs: { type: "layers", diff_ids: [diff("d"), diff("e")] } }, resolved.reference, big))).toMatch(
      /over oci_max_unpacked_mb/
    )
  })

  it("returns an existing bundle without touching the trees", async () => {
    const existing = { digest, reference: resolved.reference, bundleDir: "/b", rootfs: "/b/rootfs", reused: true } as unknown as PulledImage
    const exit = await run({}, resolved.reference, trees, existing)
    expect(Exit.isSuccess(exit) && exit.value).toBe(existing)
  })
})
