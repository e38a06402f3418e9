/**
 * The base prewarm (ADR 0805) on the real runtime and buildah. It is the path of a node that cannot mount
 * a rootfs idmapped, so this daemon is told not to adopt the build's layer trees (ADR 0822). While an
 * upload builds `FROM` the hosted base, the daemon unpacks that base into a chain snapshot of all its
 * layers, and the deploy's pull of the built image reuses every base layer (a fresh node: no earlier pull
 * left a snapshot), no spare clone of it left behind (ADR 0812). A base outside the service's project is
 * never prewarmed, and the deployment fails as the build does.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { TestDaemon } from "../../support/daemon.js"
import { waitForDeployment } from "../../support/deployments.js"
import { zstded } from "../../support/tarballs.js"
import { contextOf, postBytes, pythonAppFiles, startBuildFixture } from "../../support/uploads.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("prewarm tests skipped: they need root (buildah, namespaces, overlay mounts)")

describe.runIf(privileged)("base prewarm during upload builds (privileged)", () => {
  let d: TestDaemon
  let appId: string

  const deploy = async (files: Record<string, string>) => {
    const r = await postBytes(d, `/v1/services/${appId}/uploads?deploy=true`, zstded(await contextOf(files)))
    expect(r.status, r.body).toBe(201)
    const id = (JSON.parse(r.body) as { deployment: { id: string } }).deployment.id
    const dep = await waitForDeployment(d, id, 300_000)
    return { dep, log: fs.readFileSync(path.join(d.dataDir, "logs", "deployments", `${id}.log`), "utf8") }
  }

  beforeAll(async () => {
    ;({ d, appId } = await startBuildFixture({}, { adoptBuildTrees: false }))
  }, 600_000)
  afterAll(async () => {
    await d?.stop()
  })

  it("unpacks the FROM image while the build runs; the deploy's pull reuses all of its layers", async () => {
    const manifest = await d.request("/v2/default/base/manifests/py", {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" }
    })
    expect(manifest.status).toBe(200)
    const baseLayers = ((await manifest.json()) as { layers: Array<unknown> }).layers.length
    expect(baseLayers).toBeGreaterThan(0)

    const { dep, log } = await deploy(pythonAppFiles(d.config.values.bindAddr, "hello prewarmed"))
    expect(dep, JSON.stringify(dep)).toMatchObject({ status: "healthy" })
    expect(log).toContain(`prewarm: unpacking base image ${d.config.values.bindAddr}/default/base:py while the build runs`)
    expect(log).toContain(`prewarm: base image ${d.config.values.bindAddr}/default/base:py unpacked (${baseLayers} layers)`)
    // the prewarm ends before the deploy's pull starts, and that pull starts from the base's whole tree
    const reuse = /reusing (\d+)\/(\d+) layers already unpacked on this node/.exec(log)
    expect(reuse, log).not.toBeNull()
    expect(Number(reuse?.[1])).toBe(baseLayers)
    expect(Number(reuse?.[2])).toBeGreaterThan(baseLayers)
    expect(log.indexOf("prewarm: base image")).toBeLessThan(log.indexOf("reusing "))
    // the token never shows
    expect(log).not.toMatch(/dnp_/)
    // a spare clone of the base made beside the build (ADR 0812) was taken by the pull or removed: none is left
    const chains = path.join(d.dataDir, "oci-cache", "chains")
    expect(fs.readdirSync(chains).filter((n) => n.startsWith(".tmp-"))).toEqual([])
    // the second build finds the base unpacked at once, so its spare is certainly made while it builds
    const again = await deploy(pythonAppFiles(d.config.values.bindAddr, "hello again"))
    expect(again.dep, JSON.stringify(again.dep)).toMatchObject({ status: "healthy" })
    expect(again.log).toContain("already unpacked on this node")
    expect(again.log).toMatch(new RegExp(`reusing ${baseLayers}/\\d+ layers already unpacked on this node`))
    expect(fs.readdirSync(chains).filter((n) => n.startsWith(".tmp-"))).toEqual([])
  }, 600_000)

  it("does not prewarm a base outside the service's project; the deployment fails as the build does", async () => {
    const files = pythonAppFiles(d.config.values.bindAddr, "never served")
    files.Dockerfile = files.Dockerfile.replace("/default/base:py", "/elsewhere/base:py")
    const { dep, log } = await deploy(files)
    expect(dep.status).toBe("failed")
    expect(log).toContain("prewarm: skipped (elsewhere/base is not a repository of project default)")
    expect(log).not.toContain("prewarm: unpacking")
    expect(dep.error).toMatch(/FROM|elsewhere\/base/)
  }, 600_000)
})
