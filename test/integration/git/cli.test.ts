/**
 * The CLI for Git sources: `services create --git … --auto-deploy webhook`
 * prints the hook URL once (and it works), `hook-rotate` replaces it,
 * `git-status` shows the state, `deployments` has the commit column, and a
 * git flag without `--git` is refused naming it.
 */
import { createHmac } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type CliFixture, jsonOf, startCliFixture } from "../cli/support.js"

let f: CliFixture

beforeAll(async () => {
  f = await startCliFixture()
}, 60_000)
afterAll(async () => {
  await f?.stop()
})

const COMMIT = "c0ffee".padEnd(40, "0")

const deliverGitlab = (path: string, secret: string) =>
  f.d.request(path, {
    method: "POST",
    token: null,
    headers: { "content-type": "application/json", "x-gitlab-event": "Push Hook", "x-gitlab-token": secret },
    body: JSON.stringify({ ref: "refs/heads/main", after: COMMIT, checkout_sha: COMMIT })
  })

describe("denia services (git)", () => {
  let hookPath = ""
  let secret = ""

  it("create --git --auto-deploy webhook prints the hook URL and secret once; the URL deploys", async () => {
    const created = await f.cli([
      "services",
      "create",
      "site",
      "--git",
      "https://git.example.invalid/org/site.git",
      "--ref",
      "main",
      "--context",
      "app",
      "--credential",
      "GIT_TOKEN",
      "--auto-deploy",
      "webhook"
    ])
    expect(created.code, created.out).toBe(0)
    const url = /webhook URL \(shown once\): (\S+)/.exec(created.out)?.[1] ?? ""
    secret = /secret for the forge's signature: (\S+)/.exec(created.out)?.[1] ?? ""
    expect(url).toMatch(new RegExp(`^${f.d.url}/v1/hooks/[0-9a-f-]+/${secret}$`))
    hookPath = url.slice(f.d.url.length)
    const r = await deliverGitlab(hookPath, secret)
    expect(r.status).toBe(202)
    const outcome = (await r.json()) as { status: string; deploymentId: string }
    expect(outcome.status).toBe("deploying")
    const list = await f.cli(["deployments", "site"])
    expect(list.out.split("\n")[0]).toMatch(/COMMIT/)
    expect(list.out).toContain("webhook")
  })

  it("hook-rotate prints a new URL and the old one stops working; git-status shows the state", async () => {
    const rotated = await f.cli(["services", "hook-rotate", "site", "--json"])
    expect(rotated.code, rotated.out).toBe(0)
    const hook = jsonOf<{ url: string; path: string; secret: string }>(rotated)
    expect(hook.secret).not.toBe(secret)
    expect((await deliverGitlab(hookPath, secret)).status).toBe(401)
    const github = await f.d.request(hook.path, {
      method: "POST",
      token: null,
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-hub-signature-256": `sha256=${createHmac("sha256", "wrong").update("{}").digest("hex")}`
      },
      body: "{}"
    })
    expect(github.status).toBe(401)
    const status = await f.cli(["services", "git-status", "site"])
    expect(status.code, status.out).toBe(0)
    expect(status.out).toContain("webhook:     configured")
    expect(status.out).toContain(`last seen:   main at ${COMMIT}`)
  })

  it("refuses git flags without --git, naming the flag", async () => {
    const bad = await f.cli(["services", "create", "x", "--image", "nginx:1.27", "--tag-pattern", "v*"])
    expect(bad.code).toBe(1)
    expect(bad.out).toContain("--tag-pattern is for git sources: give --git URL")
  })
})
