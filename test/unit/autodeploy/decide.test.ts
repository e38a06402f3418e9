/** What a service follows and which pushes deploy. */
import { describe, expect, it } from "vitest"
import { commitChanged, followOf, matchPushedRef } from "../../../src/autodeploy/decide.js"

const source = { type: "git" as const, url: "https://git.example/app.git", ref: "main", dockerfile: "Dockerfile", context: "." }

describe("followOf", () => {
  it("follows autoDeploy.branch, else the source ref, else main for HEAD, or the tag pattern", () => {
    expect(followOf(source, { mode: "webhook" })).toEqual({ kind: "branch", branch: "main" })
    expect(followOf(source, { mode: "poll", branch: "prod" })).toEqual({ kind: "branch", branch: "prod" })
    expect(followOf({ ...source, ref: "HEAD" }, { mode: "webhook" })).toEqual({ kind: "branch", branch: "main" })
    expect(followOf(source, { mode: "poll", tagPattern: "v*" })).toEqual({ kind: "tags", pattern: "v*" })
  })
})

describe("matchPushedRef", () => {
  it("a branch push deploys the followed branch only", () => {
    expect(matchPushedRef({ kind: "branch", branch: "main" }, "refs/heads/main")).toEqual({ ref: "main" })
    expect(matchPushedRef({ kind: "branch", branch: "main" }, "main")).toEqual({ ref: "main" })
    expect(matchPushedRef({ kind: "branch", branch: "main" }, "refs/heads/feature")).toHaveProperty("ignored")
    expect(matchPushedRef({ kind: "branch", branch: "main" }, "refs/tags/main")).toHaveProperty("ignored")
  })

  it("a tag push deploys a tag matching the pattern only", () => {
    expect(matchPushedRef({ kind: "tags", pattern: "v*" }, "refs/tags/v1.2")).toEqual({ ref: "v1.2" })
    expect(matchPushedRef({ kind: "tags", pattern: "v*" }, "refs/tags/nightly")).toHaveProperty("ignored")
    expect(matchPushedRef({ kind: "tags", pattern: "v*" }, "refs/heads/v1")).toHaveProperty("ignored")
  })
})

describe("commitChanged", () => {
  it("only a commit other than the last one seen deploys", () => {
    expect(commitChanged(undefined, "a".repeat(40))).toBe(true)
    expect(commitChanged("a".repeat(40), "a".repeat(40))).toBe(false)
    expect(commitChanged("a".repeat(40), "b".repeat(40))).toBe(true)
  })
})
