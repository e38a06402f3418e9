/**
 * Token-kind project registry credentials for `FROM` pulls of builds, on real buildah (ADR 0806):
 *
 * - a registry with token auth (docker-registry + a JWT issuer that takes the OAuth2 refresh-token grant):
 *   the token reaches buildah as an auth.json `identitytoken`, which it exchanges at the realm;
 * - a registry with a Basic challenge that takes a token as the password (another Denia registry: the
 *   node's own `/v2` under the name `localhost:<port>`, so the build token does not apply): the same entry's
 *   `auth` (`<token>:<token>`) answers it.
 *
 * Each first fails without the credential (so the credential is what makes the pull work), and no
 * deployment log shows the token.
 */
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_TOKEN, startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { httpdImage, pushHttpd } from "../../support/deployImages.js"
import { waitForDeployment } from "../../support/deployments.js"
import { buildAndPush } from "../../support/ociImages.js"
import { freePort, type RunningRegistry, startRegistry, startTokenIssuer, type TokenIssuer } from "../../support/registry.js"
import { gzipped, tarOf } from "../../support/tarballs.js"
import { createBuildService, postBytes } from "../../support/uploads.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("token registry build tests skipped: they need root (buildah, namespaces, overlay mounts)")

const REFRESH = `refresh-${randomUUID()}`
const PUSHER = { username: "pusher", password: "pusher-pass" }

describe.runIf(privileged)("token-kind registry credentials for FROM (privileged)", () => {
  let d: TestDaemon
  let issuer: TokenIssuer
  let registry: RunningRegistry
  let projectId: string
  let apiPort: number

  const createService = (name: string, source: Record<string, unknown>) => createBuildService(d, projectId, name, source)
  const build = async (serviceId: string, from: string) => {
    const dockerfile = `FROM ${from}\nRUN echo built-from-token-registry > /www/index.html\n`
    const r = await postBytes(
      d,
      `/v1/services/${serviceId}/uploads?deploy=true`,
      gzipped(await tarOf([{ name: "Dockerfile", content: dockerfile }]))
    )
    expect(r.status, r.body).toBe(201)
    const id = (JSON.parse(r.body) as { deployment: { id: string } }).deployment.id
    const dep = await waitForDeployment(d, id, 300_000)
    return { ...dep, log: fs.readFileSync(path.join(d.dataDir, "logs", "deployments", `${id}.log`), "utf8") }
  }
  const addRegistry = async (name: string, endpoint: string, token: string) => {
    const r = await d.request(`/v1/projects/${projectId}/registries`, {
      method: "POST",
      json: { name, endpoint, auth: { kind: "token", token } }
    })
    expect(r.status, await r.clone().text()).toBe(201)
  }

  beforeAll(async () => {
    issuer = await startTokenIssuer(PUSHER, "denia-test-registry", { refreshToken: REFRESH })
    registry = await startRegistry({
      tokenAuth: { realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, rootCertBundle: issuer.rootCertBundle }
    })
    await buildAndPush(httpdImage("private base"), registry.host, "private/bb", "1", { credentials: PUSHER })
    apiPort = await freePort()
    d = await startTestDaemon({
      bind_addr: `127.0.0.1:${apiPort}`,
      insecure_registries: [registry.host, `localhost:${apiPort}`]
    })
    const projects = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
    projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
  }, 300_000)
  afterAll(async () => {
    await d?.stop()
    await registry?.stop()
    await issuer?.stop()
  })

  it("pulls FROM a token-auth registry with the token as identitytoken (refresh-token grant)", async () => {
    const id = await createService("tokapp", { type: "upload" })
    const refused = await build(id, `${registry.host}/private/bb:1`)
    expect(refused.status).toBe("failed")
    expect(refused.error).toMatch(/build failed at step 1\/2 FROM/)
    expect(issuer.refreshGrants()).toBe(0)

    await addRegistry("tokreg", registry.host, REFRESH)
    const built = await build(id, `${registry.host}/private/bb:1`)
    expect(built.status, built.error ?? built.log.slice(-2000)).toBe("healthy")
    expect(issuer.refreshGrants()).toBeGreaterThan(0)
    expect(built.log).not.toContain(REFRESH)
    expect(refused.log).not.toContain(REFRESH)
  }, 600_000)

  it("pulls FROM a Basic-challenge registry that takes the token as the password", async () => {
    await createService("base", { type: "hosted", tag: "bb" })
    await pushHttpd(d.config.values.bindAddr, "default/base", "bb", "hosted base")
    // any Denia token is a bearer token of its registry (the admin token here)
    const apiToken = ADMIN_TOKEN
    const id = await createService("basicapp", { type: "upload" })
    const from = `localhost:${apiPort}/default/base:bb`
    const refused = await build(id, from)
    expect(refused.status).toBe("failed")
    expect(refused.error).toMatch(/build failed at step 1\/2 FROM/)

    await addRegistry("otherdenia", `localhost:${apiPort}`, apiToken)
    const built = await build(id, from)
    expect(built.status, built.error ?? built.log.slice(-2000)).toBe("healthy")
    expect(built.log).not.toContain(apiToken)
  }, 600_000)
})
