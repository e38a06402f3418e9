import { describe, expect, it } from "vitest"
import { linkCheck, quotasFromMb, streamHeadroom } from "../../../src/registry/quota.js"

const r = { name: "shop/web", id: "svc", projectId: "prj" }
const MiB = 1024 * 1024
const usage = (repoLinked: number, repoOpen: number, projectLinked: number, projectOpen: number) => ({
  repository: { linked: repoLinked, open: repoOpen },
  project: { linked: projectLinked, open: projectOpen }
})

describe("registry quotas", () => {
  it("0 means unlimited in both scopes", () => {
    const q = quotasFromMb(0, 0)
    expect(streamHeadroom(q, r, usage(10 * MiB, 10 * MiB, 10 * MiB, 10 * MiB)).bytes).toBe(Number.POSITIVE_INFINITY)
    expect(linkCheck(q, r, usage(10 * MiB, 0, 10 * MiB, 0), 10 * MiB, { repository: false, project: false })).toBeUndefined()
  })

  it("streaming headroom is the smaller scope, open sessions included, and names that scope's key", () => {
    const h = streamHeadroom(quotasFromMb(10, 4), r, usage(1 * MiB, 1 * MiB, 2 * MiB, 1 * MiB))
    expect(h.bytes).toBe(1 * MiB)
    expect(h.refuse(2 * MiB).message.startsWith("registry_quota_project_mb: project shop")).toBe(true)
    expect(streamHeadroom(quotasFromMb(1, 0), r, usage(2 * MiB, 0, 0, 0)).bytes).toBe(0)
  })

  it("a claimed blob already in a scope is free there up to its size", () => {
    const full = usage(1 * MiB, 0, 1 * MiB, 0)
    expect(streamHeadroom(quotasFromMb(1, 1), r, full, { remaining: 5000, repository: true, project: true }).bytes).toBe(5000)
    expect(streamHeadroom(quotasFromMb(1, 1), r, full, { remaining: 5000, repository: false, project: true }).bytes).toBe(0)
  })

  it("linking counts a blob only where it is new", () => {
    const q = quotasFromMb(1, 2)
    const u = usage(0.9 * MiB, 0, 1.9 * MiB, 0)
    expect(linkCheck(q, r, u, 0.2 * MiB, { repository: true, project: true })).toBeUndefined()
    expect(linkCheck(q, r, u, 0.2 * MiB, { repository: false, project: true })?.message).toMatch(
      /^registry_quota_repository_mb: repository shop\/web/
    )
    expect(linkCheck(quotasFromMb(5, 2), r, u, 0.2 * MiB, { repository: false, project: false })?.message).toMatch(
      /^registry_quota_project_mb:/
    )
    expect(linkCheck(quotasFromMb(5, 2), r, u, 0.2 * MiB, { repository: false, project: true })).toBeUndefined()
  })
})
