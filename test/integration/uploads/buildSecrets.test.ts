/**
 * Build secrets end to end (ADR 0806) on real buildah: a service secret named in `source.buildSecrets` is
 * readable by `RUN --mount=type=secret,id=tok` steps, yet its value is in no layer or config blob of the
 * pushed image, not in the deployment log (even when a step echoes it), not in the replica's environment,
 * and its temp file is gone after the build. A PATCH naming a secret the service lacks is refused naming
 * the field; a secret that disappears before a deploy fails that deployment naming the field.
 */
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_TOKEN, startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { pushHttpd } from "../../support/deployImages.js"
import { getViaSocket, replicaSockets, waitForDeployment } from "../../support/deployments.js"
import { gzipped, tarOf } from "../../support/tarballs.js"
import { createBuildService, postBytes } from "../../support/uploads.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("build secret tests skipped: they need root (buildah, namespaces, overlay mounts)")

const SECRET = `bsec-${randomUUID()}`

describe.runIf(privileged)("build secrets (privileged)", () => {
  let d: TestDaemon
  let projectId: string

  const createService = (name: string, source: Record<string, unknown>) => createBuildService(d, projectId, name, source)
  const setSecret = async (serviceId: string, name: string, value: string) => {
    const r = await d.request(`/v1/services/${serviceId}/secrets`, { method: "POST", json: { name, value } })
    expect(r.status, await r.clone().text()).toBeLessThan(300)
  }
  const uploadAndDeploy = async (serviceId: string, dockerfile: ReadonlyArray<string>) => {
    const body = gzipped(await tarOf([{ name: "Dockerfile", content: `${dockerfile.join("\n")}\n` }]))
    const up = await postBytes(d, `/v1/services/${serviceId}/uploads`, body)
    expect(up.status, up.body).toBe(201)
    const uploadId = (JSON.parse(up.body) as { upload: { id: string } }).upload.id
    const r = await d.request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: { uploadId } })
    expect(r.status, await r.clone().text()).toBe(202)
    return ((await r.json()) as { id: string }).id
  }
  const logOf = (deploymentId: string) => fs.readFileSync(path.join(d.dataDir, "logs", "deployments", `${deploymentId}.log`), "utf8")
  const registryGet = async (p: string, accept?: string) => {
    const r = await fetch(`${d.url}${p}`, {
      headers: {
        authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}`,
        ...(accept === undefined ? {} : { accept })
      }
    })
    expect(r.status, p).toBe(200)
    return Buffer.from(await r.arrayBuffer())
  }

  beforeAll(async () => {
    d = await startTestDaemon()
    const projects = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
    projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
    await createService("base", { type: "hosted", tag: "bb" })
    await pushHttpd(d.config.values.bindAddr, "default/base", "bb", "base page")
  }, 300_000)
  afterAll(async () => {
    await d?.stop()
  })

  it("offers the secret to RUN --mount=type=secret and keeps it out of layers, log, env and disk", async () => {
    const id = await createService("app", { type: "upload", buildSecrets: [{ id: "tok", secret: "TOK" }] })
    await setSecret(id, "TOK", SECRET)
    const deploymentId = await uploadAndDeploy(id, [
      `FROM ${d.config.values.bindAddr}/default/base:bb`,
      "RUN --mount=type=secret,id=tok cat /run/secrets/tok > /dev/null && test -s /run/secrets/tok",
      "RUN --mount=type=secret,id=tok echo \"leaked: $(cat /run/secrets/tok)\"",
      // the mount is for its step only: nothing of it is left for the next one
      "RUN test ! -e /run/secrets/tok",
      "RUN echo built-with-secret > /www/index.html"
    ])
    const dep = await waitForDeployment(d, deploymentId, 300_000)
    expect(dep, JSON.stringify(dep)).toMatchObject({ status: "healthy" })

    const log = logOf(deploymentId)
    expect(log).toContain("leaked: ***")
    expect(log).not.toContain(SECRET)

    // every blob of the pushed image: the config and each layer (decompressed when gzip)
    const manifest = JSON.parse(
      (await registryGet(
        `/v2/default/app/manifests/${deploymentId}`,
        "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
      )).toString("utf8")
    ) as { config: { digest: string }; layers: Array<{ digest: string; mediaType: string }> }
    expect(manifest.layers.length).toBeGreaterThan(1)
    const config = await registryGet(`/v2/default/app/blobs/${manifest.config.digest}`)
    expect(config.toString("utf8")).not.toContain(SECRET)
    for (const layer of manifest.layers) {
      const blob = await registryGet(`/v2/default/app/blobs/${layer.digest}`)
      const plain = layer.mediaType.endsWith("gzip") ? zlib.gunzipSync(blob) : blob
      expect(plain.includes(Buffer.from(SECRET)), layer.digest).toBe(false)
    }

    // not in the replica's environment (the base image's command writes it to /www/env.txt... replaced by
    // the build's index, so ask the running replica's environment through its own file)
    const sockets = replicaSockets(d.dataDir, deploymentId)
    expect(sockets.length).toBeGreaterThan(0)
    const page = await getViaSocket(sockets[0] ?? "")
    expect(page.body.trim()).toBe("built-with-secret")
    const env = await getViaSocket(sockets[0] ?? "", "/env.txt")
    expect(env.status).toBe(200)
    expect(env.body).toContain("PORT=8080")
    expect(env.body).not.toContain(SECRET)
    expect(env.body).not.toMatch(/^TOK=/m)

    // the secret's temp directory went with the build
    const tmp = path.join(d.dataDir, "builds", "tmp")
    const left = fs.existsSync(tmp) ? fs.readdirSync(tmp).filter((n) => n.startsWith("secrets-")) : []
    expect(left).toEqual([])
  }, 600_000)

  it("refuses a PATCH naming a secret the service lacks, and fails a deploy whose secret is gone, naming the field", async () => {
    const id = await createService("gone", { type: "upload" })
    const patch = await d.request(`/v1/services/${id}`, {
      method: "PATCH",
      json: { source: { type: "upload", buildSecrets: [{ id: "tok", secret: "MISSING" }] } }
    })
    expect(patch.status).toBe(400)
    expect(((await patch.json()) as { error: { message: string } }).error.message).toMatch(
      /^source\.buildSecrets\[0\]\.secret: the service has no secret named MISSING/
    )
    await setSecret(id, "PRESENT", "x")
    const ok = await d.request(`/v1/services/${id}`, {
      method: "PATCH",
      json: { source: { type: "upload", buildSecrets: [{ id: "tok", secret: "PRESENT" }] } }
    })
    expect(ok.status, await ok.clone().text()).toBe(200)
    expect(((await ok.json()) as { source: unknown }).source).toMatchObject({ buildSecrets: [{ id: "tok", secret: "PRESENT" }] })
    expect((await d.request(`/v1/services/${id}/secrets/PRESENT`, { method: "DELETE" })).status).toBeLessThan(300)
    const deploymentId = await uploadAndDeploy(id, [`FROM ${d.config.values.bindAddr}/default/base:bb`])
    const dep = await waitForDeployment(d, deploymentId, 300_000)
    expect(dep.status).toBe("failed")
    expect(dep.error).toMatch(/source\.buildSecrets\[0\]\.secret: the service has no secret named PRESENT/)
  }, 600_000)
})
