/** Which tag polling deploys: glob matching and the semver-ish order. */
import { describe, expect, it } from "vitest"
import { compareTags, globToRegExp, highestTag } from "../../../src/autodeploy/tags.js"

describe("globToRegExp", () => {
  it("* and ? stop at '/', other characters are literal", () => {
    expect(globToRegExp("v*").test("v1.2.3")).toBe(true)
    expect(globToRegExp("v*").test("release/v1")).toBe(false)
    expect(globToRegExp("release/*").test("release/1.0")).toBe(true)
    expect(globToRegExp("v?.0").test("v1.0")).toBe(true)
    expect(globToRegExp("v1.0").test("v1x0")).toBe(false)
    expect(globToRegExp("v*").test("xv1")).toBe(false)
  })
})

describe("compareTags / highestTag", () => {
  it("orders numeric parts numerically, with or without a leading v", () => {
    expect(compareTags("v1.10.0", "v1.9.0")).toBeGreaterThan(0)
    expect(compareTags("1.2", "1.2.1")).toBeLessThan(0)
    expect(compareTags("v2", "1.99.99")).toBeGreaterThan(0)
  })

  it("puts a pre-release below its release and orders pre-releases among themselves", () => {
    expect(compareTags("1.2.0-rc1", "1.2.0")).toBeLessThan(0)
    expect(compareTags("1.2.0-rc.2", "1.2.0-rc.10")).toBeLessThan(0)
    expect(compareTags("1.2.1-rc1", "1.2.0")).toBeGreaterThan(0)
  })

  it("picks the highest matching tag, none when nothing matches", () => {
    const tags = ["v1.9.0", "v1.10.0", "v1.10.0-rc1", "v2.0.0-beta", "latest", "other/v9"]
    expect(highestTag(tags, "v1.*")).toBe("v1.10.0")
    expect(highestTag(tags, "v*")).toBe("v2.0.0-beta")
    expect(highestTag(tags, "release-*")).toBeUndefined()
  })
})
