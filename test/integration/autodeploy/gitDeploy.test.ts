/**
 * Git sources and auto-deploy end to end on the real runtime: a repository
 * served by `git http-backend` over HTTPS (token) and by sshd (deploy key) on
 * loopback, deployed to healthy with the commit recorded; the checkout
 * credential stays out of the workload's env; a webhook with a bad signature
 * is 401 and a good one deploys the new commit; polling picks up a new tag;
 * a symlinked context leading out of the checkout and a changed SSH host key
 * are refused.
 */
import { createHmac } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { getViaSocket, replicaSockets, waitForDeployment } from "../../support/deployments.js"
import { type GitHttpsServer, startGitHttpsServer } from "../../support/git/httpsServer.js"
import { makeTestRepo, type TestRepo } from "../../support/git/repo.js"
import { type GitSshServer, startGitSshServer } from "../../support/git/sshServer.js"
import { makeTempDir } from "../../support/tempDir.js"
import { type GitTestDaemon, startGitTestDaemon } from "./gitDaemon.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("git deploy tests skipped: they need root (namespaces, overlay mounts, sshd)")

const TOKEN = "ghp_test-token-0123456789"

interface Deployment {
  id: string
  status: string
  error?: string
  commitSha?: string
  gitRef?: string
  trigger?: string
  imageRef: string
}

describe.runIf(privileged)("git sources (privileged)", () => {
  const temp = makeTempDir("denia-git-e2e-")
  let repo: TestRepo
  let https: GitHttpsServer
  let ssh: GitSshServer
  let d: GitTestDaemon
  let projectId: string

  beforeAll(async () => {
    const root = path.join(temp.dir, "repos")
    fs.mkdirSync(root)
    repo = makeTestRepo(root, "site")
    repo.commit({ "Dockerfile": "FROM scratch\n", "index.html": "hello v1" }, "v1")
    repo.tag("v1.0.0")
    https = await startGitHttpsServer(temp.dir, root, { password: TOKEN })
    ssh = await startGitSshServer(fs.mkdtempSync(path.join(temp.dir, "ssh-")))
    d = await startGitTestDaemon(https.caFile)
    const projects = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
    projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
  }, 120_000)

  afterAll(async () => {
    await d?.stop()
    await https?.close()
    await ssh?.close()
    temp.cleanup()
  })

  const createService = async (name: string, source: Record<string, unknown>, secret?: { name: string; value: string }) => {
    const r = await d.request("/v1/services", {
      method: "POST",
      json: { projectId, name, source, port: 8080, health: { path: "/", timeoutSeconds: 20 } }
    })
    expect(r.status).toBe(201)
    const id = ((await r.json()) as { id: string }).id
    if (secret !== undefined) {
      const s = await d.request(`/v1/services/${id}/secrets`, { method: "POST", json: secret })
      expect(s.status).toBeLessThan(300)
    }
    return id
  }

  const deploy = async (serviceId: string) => {
    const r = await d.request(`/v1/services/${serviceId}/deployments`, { method: "POST", json: {} })
    expect(r.status).toBe(202)
    return ((await r.json()) as { id: string }).id
  }

  const deployment = async (id: string) => (await (await d.request(`/v1/deployments/${id}`)).json()) as Deployment

  const served = async (serviceId: string, file = "/") => {
    const service = (await (await d.request(`/v1/services/${serviceId}`)).json()) as { promotedDeploymentId: string }
    const sockets = replicaSockets(d.dataDir, service.promotedDeploymentId)
    return (await getViaSocket(sockets[0] ?? "", file)).body
  }

  /** The newest deployment of the service other than `known`, once it is terminal (bounded). */
  const nextDeployment = async (serviceId: string, known: ReadonlyArray<string>, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const list = (await (await d.request(`/v1/services/${serviceId}/deployments`)).json()) as { items: Array<Deployment> }
      const fresh = list.items.find((x) => !known.includes(x.id))
      if (fresh !== undefined) return { ...fresh, ...(await waitForDeployment(d, fresh.id)) } as Deployment
      if (Date.now() > deadline) throw new Error(`no new deployment of ${serviceId} within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  let httpsService = ""
  let hookUrl = ""
  let hookSecret = ""

  it("deploys over HTTPS with a token secret, records the commit, and keeps the token out of the env", async () => {
    httpsService = await createService(
      "site",
      { type: "git", url: https.url("site.git"), ref: "main", credentialRef: "GIT_TOKEN", autoDeploy: { mode: "webhook" } },
      { name: "GIT_TOKEN", value: TOKEN }
    )
    const id = await deploy(httpsService)
    const done = await waitForDeployment(d, id)
    expect(done.status, done.error).toBe("healthy")
    const dep = await deployment(id)
    expect(dep.commitSha).toBe(repo.run("rev-parse", "HEAD"))
    expect(dep.gitRef).toBe("main")
    expect(dep.imageRef).toBe(`${d.config.values.bindAddr}/default/site:${id}`)
    expect(await served(httpsService)).toBe("hello v1")
    const env = await served(httpsService, "/env.txt")
    expect(env).not.toContain(TOKEN)
    expect(env).not.toContain("GIT_TOKEN")
    const log = fs.readFileSync(path.join(d.config.paths.logs, "deployments", `${id}.log`), "utf8")
    expect(log).toContain(`checked out commit ${dep.commitSha}`)
    expect(log).not.toContain(TOKEN)
  }, 120_000)

  it("a webhook with a bad signature is 401; a good one deploys the new commit; repeats and other branches are not deployed", async () => {
    const rotated = await d.request(`/v1/services/${httpsService}/git/hook`, { method: "POST" })
    expect(rotated.status).toBe(201)
    const hook = (await rotated.json()) as { url: string; path: string; secret: string }
    hookUrl = hook.path
    hookSecret = hook.secret
    expect(hook.url).toBe(`${d.url}${hook.path}`)
    const before = ((await (await d.request(`/v1/services/${httpsService}/deployments`)).json()) as { items: Array<Deployment> }).items
    const commit = repo.commit({ "index.html": "hello v2" }, "v2")
    const body = JSON.stringify({ ref: "refs/heads/main", after: commit, repository: { full_name: "t/site" } })
    const sign = (secret: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`
    const deliver = (signature: string, payload = body, event = "push") =>
      d.request(hookUrl, {
        method: "POST",
        token: null,
        headers: { "content-type": "application/json", "x-github-event": event, "x-hub-signature-256": signature },
        body: payload
      })
    const bad = await deliver(sign("not-the-secret"))
    expect(bad.status).toBe(401)
    const wrongPath = await d.request(`/v1/hooks/${httpsService}/not-the-secret`, {
      method: "POST",
      token: null,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ref: "main" })
    })
    expect(wrongPath.status).toBe(401)
    const good = await deliver(sign(hookSecret))
    expect(good.status).toBe(202)
    const outcome = (await good.json()) as { status: string; deploymentId: string; commit: string }
    expect(outcome.status).toBe("deploying")
    expect(outcome.commit).toBe(commit)
    const done = await waitForDeployment(d, outcome.deploymentId)
    expect(done.status, done.error).toBe("healthy")
    const dep = await deployment(outcome.deploymentId)
    expect(dep.commitSha).toBe(commit)
    expect(dep.trigger).toBe("webhook")
    expect(before.map((x) => x.id)).not.toContain(outcome.deploymentId)
    expect(await served(httpsService)).toBe("hello v2")
    const again = await deliver(sign(hookSecret))
    expect(((await again.json()) as { status: string }).status).toBe("unchanged")
    const otherBody = JSON.stringify({ ref: "refs/heads/feature", after: commit })
    const other = await deliver(`sha256=${createHmac("sha256", hookSecret).update(otherBody).digest("hex")}`, otherBody)
    expect(other.status).toBe(202)
    expect(((await other.json()) as { status: string; message: string }).status).toBe("ignored")
    const audit = (await (await d.request("/v1/audit")).json()) as {
      items: Array<{ actor: string; action: string; details: Record<string, unknown> }>
    }
    expect(
      audit.items.some((e) => e.actor === "system:autodeploy" && e.action === "deploy" && e.details.deployment === outcome.deploymentId)
    )
      .toBe(true)
    const status = (await (await d.request(`/v1/services/${httpsService}/git`)).json()) as {
      webhook: { configured: boolean }
      autoDeploy: { state: string; lastSeenCommit: string; lastDeploymentId: string }
    }
    expect(status.webhook.configured).toBe(true)
    expect(status.autoDeploy).toMatchObject({ state: "ok", lastSeenCommit: commit, lastDeploymentId: outcome.deploymentId })
  }, 120_000)

  it("GitLab and Gitea deliveries are checked their way; a rotated secret stops the old URL", async () => {
    const commit = repo.run("rev-parse", "HEAD")
    const body = JSON.stringify({ ref: "refs/heads/main", after: commit, checkout_sha: commit })
    const gitlab = (token: string) =>
      d.request(hookUrl, {
        method: "POST",
        token: null,
        headers: { "content-type": "application/json", "x-gitlab-event": "Push Hook", "x-gitlab-token": token },
        body
      })
    expect((await gitlab("wrong")).status).toBe(401)
    expect(((await (await gitlab(hookSecret)).json()) as { status: string }).status).toBe("unchanged")
    const gitea = (signature: string) =>
      d.request(hookUrl, {
        method: "POST",
        token: null,
        headers: { "content-type": "application/json", "x-gitea-event": "push", "x-gitea-signature": signature },
        body
      })
    expect((await gitea("00".repeat(32))).status).toBe(401)
    expect((await gitea(createHmac("sha256", hookSecret).update(body).digest("hex"))).status).toBe(202)
    const rotated = (await (await d.request(`/v1/services/${httpsService}/git/hook`, { method: "POST" })).json()) as { path: string }
    expect((await gitlab(hookSecret)).status).toBe(401)
    hookUrl = rotated.path
  }, 60_000)

  it("polling picks up a new tag matching the pattern (the highest one), and only once", async () => {
    const id = await createService(
      "tagged",
      {
        type: "git",
        url: https.url("site.git"),
        ref: "v1.0.0",
        credentialRef: "GIT_TOKEN",
        autoDeploy: { mode: "poll", tagPattern: "v*", intervalSeconds: 10 }
      },
      { name: "GIT_TOKEN", value: TOKEN }
    )
    const first = await nextDeployment(id, [])
    expect(first.status, first.error).toBe("healthy")
    expect(first.trigger).toBe("poll")
    expect(first.gitRef).toBe("v1.0.0")
    repo.commit({ "index.html": "hello v1.10" }, "v1.10")
    repo.tag("v1.10.0", true)
    repo.commit({ "index.html": "hello v1.9" }, "v1.9")
    repo.tag("v1.9.0")
    const next = await nextDeployment(id, [first.id])
    expect(next.status, next.error).toBe("healthy")
    expect(next.gitRef).toBe("v1.10.0")
    expect(next.commitSha).toBe(repo.run("rev-parse", "v1.10.0^{commit}"))
    expect(await served(id)).toBe("hello v1.10")
    const check = (await (await d.request(`/v1/services/${id}/git/check`, { method: "POST" })).json()) as { status: string }
    expect(check.status).toBe("unchanged")
    const list = ((await (await d.request(`/v1/services/${id}/deployments`)).json()) as { items: Array<Deployment> }).items
    expect(list).toHaveLength(2)
  }, 120_000)

  it("refuses a context directory that is a symlink leading out of the checkout", async () => {
    fs.symlinkSync("/etc", path.join(repo.work, "evil"))
    repo.commit({}, "evil link")
    const id = await createService(
      "escape",
      { type: "git", url: https.url("site.git"), ref: "main", context: "evil", credentialRef: "T" },
      {
        name: "T",
        value: TOKEN
      }
    )
    const done = await waitForDeployment(d, await deploy(id))
    expect(done.status).toBe("failed")
    expect(done.error).toContain("evil: symlink points outside the repository")
    const builds = d.builds.filter((b) => b.serviceName === "escape")
    expect(builds).toHaveLength(0)
    repo.run("rm", "-q", "evil")
    repo.commit({}, "no evil link")
  }, 60_000)

  it(
    "deploys over SSH with a deploy key, pins and shows the host key, refuses a changed key, and deploys again after a reset",
    async () => {
      const id = await createService("viassh", { type: "git", url: ssh.url(repo.bare), ref: "main", credentialRef: "DEPLOY_KEY" }, {
        name: "DEPLOY_KEY",
        value: ssh.deployKey
      })
      const first = await waitForDeployment(d, await deploy(id))
      expect(first.status, first.error).toBe("healthy")
      const status = (await (await d.request(`/v1/services/${id}/git`)).json()) as { hostKey: { fingerprints: Array<string> } }
      expect(status.hostKey.fingerprints).toEqual([ssh.hostFingerprint()])
      const log = fs.readFileSync(path.join(d.config.paths.logs, "deployments", `${first.id}.log`), "utf8")
      expect(log).toContain(`pinned the SSH host key of the Git server on first use: ${ssh.hostFingerprint()}`)
      await ssh.rekey()
      const refused = await waitForDeployment(d, await deploy(id))
      expect(refused.status).toBe("failed")
      expect(refused.error).toContain("does not match the key pinned for this service")
      const stillPinned = (await (await d.request(`/v1/services/${id}/git`)).json()) as { hostKey: { fingerprints: Array<string> } }
      expect(stillPinned.hostKey.fingerprints).not.toEqual([ssh.hostFingerprint()])
      expect((await d.request(`/v1/services/${id}/git/host-key`, { method: "DELETE" })).status).toBe(204)
      const again = await waitForDeployment(d, await deploy(id))
      expect(again.status, again.error).toBe("healthy")
      const repinned = (await (await d.request(`/v1/services/${id}/git`)).json()) as { hostKey: { fingerprints: Array<string> } }
      expect(repinned.hostKey.fingerprints).toEqual([ssh.hostFingerprint()])
    },
    120_000
  )
})
