/**
 * Git sources with the real builder (buildah): a Dockerfile app `FROM` the hosted
 * python3 base, fetched over HTTPS (`git http-backend`, token) and over SSH
 * (sshd, deploy key) on loopback, built, deployed and serving; a webhook with a
 * good signature deploys the pushed commit.
 */
import { createHmac } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { getViaSocket, replicaSockets, waitForDeployment } from "../../support/deployments.js"
import { type GitHttpsServer, startGitHttpsServer } from "../../support/git/httpsServer.js"
import { makeTestRepo, type TestRepo } from "../../support/git/repo.js"
import { type GitSshServer, startGitSshServer } from "../../support/git/sshServer.js"
import { makeTempDir } from "../../support/tempDir.js"
import { pushPythonBase, pythonAppFiles } from "../../support/uploads.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("git build tests skipped: they need root (buildah, namespaces, overlay mounts, sshd)")

const TOKEN = "glpat-real-build-token"

describe.runIf(privileged)("git sources built by buildah (privileged)", () => {
  const temp = makeTempDir("denia-git-build-")
  let repo: TestRepo
  let https: GitHttpsServer
  let ssh: GitSshServer
  let d: TestDaemon
  let projectId: string

  beforeAll(async () => {
    const root = path.join(temp.dir, "repos")
    fs.mkdirSync(root)
    https = await startGitHttpsServer(temp.dir, root, { username: "oauth2", password: TOKEN })
    ssh = await startGitSshServer(fs.mkdtempSync(path.join(temp.dir, "ssh-")))
    d = await startTestDaemon({ git_ca_file: https.caFile })
    const projects = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
    projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
    const base = await d.request("/v1/services", {
      method: "POST",
      json: { projectId, name: "base", source: { type: "hosted", tag: "py" }, port: 8080 }
    })
    expect(base.status).toBe(201)
    await pushPythonBase(d)
    repo = makeTestRepo(root, "pyapp")
    repo.commit(pythonAppFiles(d.config.values.bindAddr, "hello from git v1"), "v1")
  }, 600_000)

  afterAll(async () => {
    await d?.stop()
    await https?.close()
    await ssh?.close()
    temp.cleanup()
  })

  const createService = async (name: string, source: Record<string, unknown>, secret: { name: string; value: string }) => {
    const r = await d.request("/v1/services", {
      method: "POST",
      json: { projectId, name, source, port: 8080, health: { path: "/", timeoutSeconds: 30 } }
    })
    expect(r.status, await r.clone().text()).toBe(201)
    const id = ((await r.json()) as { id: string }).id
    expect((await d.request(`/v1/services/${id}/secrets`, { method: "POST", json: secret })).status).toBeLessThan(300)
    return id
  }

  const served = async (serviceId: string) => {
    const service = (await (await d.request(`/v1/services/${serviceId}`)).json()) as { promotedDeploymentId: string }
    return Promise.all(replicaSockets(d.dataDir, service.promotedDeploymentId).map((s) => getViaSocket(s).then((r) => r.body.trim())))
  }

  const deploy = async (serviceId: string) => {
    const r = await d.request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: {} })
    expect(r.status).toBe(202)
    return ((await r.json()) as { id: string }).id
  }

  let httpsService = ""

  it("builds and deploys a commit fetched over HTTPS with a user:token secret", async () => {
    httpsService = await createService(
      "pyapp",
      { type: "git", url: https.url("pyapp.git"), ref: "main", credentialRef: "GIT_TOKEN", autoDeploy: { mode: "webhook" } },
      { name: "GIT_TOKEN", value: `oauth2:${TOKEN}` }
    )
    const id = await deploy(httpsService)
    const done = await waitForDeployment(d, id, 300_000)
    expect(done.status, done.error).toBe("healthy")
    expect(await served(httpsService)).toEqual(["hello from git v1"])
    const dep = (await (await d.request(`/v1/deployments/${id}`)).json()) as { commitSha: string; imageRef: string }
    expect(dep.commitSha).toBe(repo.run("rev-parse", "HEAD"))
    expect(dep.imageRef).toBe(`${d.config.values.bindAddr}/default/pyapp:${id}`)
    const log = fs.readFileSync(path.join(d.dataDir, "logs", "deployments", `${id}.log`), "utf8")
    expect(log).toMatch(/BUILDING STEP 1\/\d+: FROM /)
    expect(log).not.toContain(TOKEN)
  }, 600_000)

  it("a signed webhook deploys the pushed commit, built again", async () => {
    const hook = (await (await d.request(`/v1/services/${httpsService}/git/hook`, { method: "POST" })).json()) as {
      path: string
      secret: string
    }
    const commit = repo.commit({ "www/index.html": "hello from git v2\n" }, "v2")
    const body = JSON.stringify({ ref: "refs/heads/main", after: commit })
    const r = await d.request(hook.path, {
      method: "POST",
      token: null,
      headers: {
        "content-type": "application/json",
        "x-gitea-event": "push",
        "x-gitea-signature": createHmac("sha256", hook.secret).update(body).digest("hex")
      },
      body
    })
    expect(r.status).toBe(202)
    const outcome = (await r.json()) as { status: string; deploymentId: string }
    expect(outcome.status).toBe("deploying")
    const done = await waitForDeployment(d, outcome.deploymentId, 300_000)
    expect(done.status, done.error).toBe("healthy")
    expect(await served(httpsService)).toEqual(["hello from git v2"])
  }, 600_000)

  it("builds and deploys over SSH with a deploy key", async () => {
    const id = await createService("pyssh", { type: "git", url: ssh.url(repo.bare), ref: "main", credentialRef: "DEPLOY_KEY" }, {
      name: "DEPLOY_KEY",
      value: ssh.deployKey
    })
    const done = await waitForDeployment(d, await deploy(id), 300_000)
    expect(done.status, done.error).toBe("healthy")
    expect(await served(id)).toEqual(["hello from git v2"])
  }, 600_000)

  it("offers a git source's build secrets to RUN --mount=type=secret, masked in the log (ADR 0806)", async () => {
    const value = "git-build-secret-4f1d2c"
    const root = path.dirname(repo.bare)
    const secretRepo = makeTestRepo(root, "secretapp")
    secretRepo.commit(
      pythonAppFiles(d.config.values.bindAddr, "built with a git build secret", [
        "RUN --mount=type=secret,id=tok test -s /run/secrets/tok && echo \"git-leak: $(cat /run/secrets/tok)\""
      ]),
      "v1"
    )
    const id = await createService(
      "pysecret",
      {
        type: "git",
        url: https.url("secretapp.git"),
        ref: "main",
        credentialRef: "GIT_TOKEN",
        buildSecrets: [{ id: "tok", secret: "BUILD_TOK" }]
      },
      { name: "GIT_TOKEN", value: `oauth2:${TOKEN}` }
    )
    expect((await d.request(`/v1/services/${id}/secrets`, { method: "POST", json: { name: "BUILD_TOK", value } })).status)
      .toBeLessThan(300)
    const deploymentId = await deploy(id)
    const done = await waitForDeployment(d, deploymentId, 300_000)
    const log = fs.readFileSync(path.join(d.dataDir, "logs", "deployments", `${deploymentId}.log`), "utf8")
    expect(done.status, `${done.error ?? ""}\n${log.slice(-3000)}`).toBe("healthy")
    expect(await served(id)).toEqual(["built with a git build secret"])
    expect(log).toContain("git-leak: ***")
    expect(log).not.toContain(value)
  }, 600_000)
})
