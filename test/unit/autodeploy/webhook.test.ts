/** Webhook deliveries: each forge's proof of the secret, and what a push payload says. */
import { Either } from "effect"
import { createHmac } from "node:crypto"
import { describe, expect, it } from "vitest"
import { forgeOf, hashSecret, parsePush, secretMatches, verifyDelivery } from "../../../src/autodeploy/webhook.js"

const SECRET = "hook-secret"
const body = JSON.stringify({ ref: "refs/heads/main", after: "a".repeat(40) })
const hmac = (secret: string, text: string) => createHmac("sha256", secret).update(text).digest("hex")

describe("verifyDelivery", () => {
  it("GitHub: X-Hub-Signature-256 must be the HMAC-SHA256 of the raw body", () => {
    const headers = { "x-github-event": "push", "x-hub-signature-256": `sha256=${hmac(SECRET, body)}` }
    expect(forgeOf(headers)).toBe("github")
    expect(Either.isRight(verifyDelivery("github", headers, body, SECRET))).toBe(true)
    // the same signature over a body with one byte changed
    expect(Either.isLeft(verifyDelivery("github", headers, body + " ", SECRET))).toBe(true)
    expect(Either.isLeft(verifyDelivery("github", { ...headers, "x-hub-signature-256": `sha256=${hmac("other", body)}` }, body, SECRET)))
      .toBe(true)
    expect(verifyDelivery("github", { "x-github-event": "push" }, body, SECRET)).toEqual(Either.left(expect.stringContaining("missing")))
  })

  it("Gitea: X-Gitea-Signature is the bare hex HMAC (Gitea also sends GitHub-style headers)", () => {
    const headers = { "x-gitea-event": "push", "x-github-event": "push", "x-gitea-signature": hmac(SECRET, body) }
    expect(forgeOf(headers)).toBe("gitea")
    expect(Either.isRight(verifyDelivery("gitea", headers, body, SECRET))).toBe(true)
    expect(Either.isLeft(verifyDelivery("gitea", { ...headers, "x-gitea-signature": hmac(SECRET, "{}") }, body, SECRET))).toBe(true)
  })

  it("GitLab: X-Gitlab-Token must equal the secret", () => {
    const headers = { "x-gitlab-event": "Push Hook", "x-gitlab-token": SECRET }
    expect(forgeOf(headers)).toBe("gitlab")
    expect(Either.isRight(verifyDelivery("gitlab", headers, body, SECRET))).toBe(true)
    expect(Either.isLeft(verifyDelivery("gitlab", { ...headers, "x-gitlab-token": `${SECRET}x` }, body, SECRET))).toBe(true)
  })

  it("plain deliveries rely on the URL's secret, which is stored only as a hash", () => {
    expect(forgeOf({ "content-type": "application/json" })).toBe("plain")
    const stored = hashSecret(SECRET)
    expect(stored).not.toContain(SECRET)
    expect(secretMatches(SECRET, stored)).toBe(true)
    expect(secretMatches(`${SECRET}!`, stored)).toBe(false)
    expect(secretMatches("", stored)).toBe(false)
  })
})

describe("parsePush", () => {
  it("reads ref and commit from GitHub/Gitea (after) and GitLab (checkout_sha) payloads", () => {
    expect(parsePush("github", { "x-github-event": "push" }, JSON.parse(body))).toEqual(
      Either.right({ kind: "push", forge: "github", ref: "refs/heads/main", commit: "a".repeat(40) })
    )
    expect(
      parsePush("gitlab", { "x-gitlab-event": "Tag Push Hook" }, {
        ref: "refs/tags/v1",
        after: "b".repeat(40),
        checkout_sha: "c".repeat(40)
      })
    )
      .toEqual(Either.right({ kind: "push", forge: "gitlab", ref: "refs/tags/v1", commit: "c".repeat(40) }))
  })

  it("the plain form names only a ref", () => {
    expect(parsePush("plain", {}, { ref: "main" })).toEqual(Either.right({ kind: "push", forge: "plain", ref: "main", commit: undefined }))
    expect(parsePush("plain", {}, { branch: "main" })).toEqual(Either.left(expect.stringMatching(/^ref: /)))
    expect(parsePush("plain", {}, [1])).toEqual(Either.left(expect.stringMatching(/^body: /)))
  })

  it("pings, other events and deleted branches are not pushes", () => {
    expect(parsePush("github", { "x-github-event": "ping" }, { zen: "hi" })).toMatchObject({ right: { kind: "other" } })
    expect(parsePush("gitlab", { "x-gitlab-event": "Merge Request Hook" }, {})).toMatchObject({ right: { kind: "other" } })
    expect(parsePush("github", { "x-github-event": "push" }, { ref: "refs/heads/x", after: "0".repeat(40), deleted: true }))
      .toMatchObject({ right: { kind: "other", reason: "refs/heads/x was deleted" } })
    expect(parsePush("github", { "x-github-event": "push" }, { ref: "refs/heads/x", after: "nope" })).toEqual(
      Either.left(expect.stringMatching(/^after: /))
    )
  })
})
