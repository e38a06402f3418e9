import { describe, expect, it } from "vitest"
import { parseAuthority } from "../../../src/ingress/requestTarget.js"

describe("parseAuthority", () => {
  it("accepts DNS names, IP literals and ports; normalises case and the trailing dot", () => {
    expect(parseAuthority("WWW.Example.com:8080")).toEqual({ name: "www.example.com", port: "8080" })
    expect(parseAuthority("web.example.")).toEqual({ name: "web.example", port: "" })
    expect(parseAuthority("[::1]:80")).toEqual({ name: "[::1]", port: "80" })
    expect(parseAuthority("10.0.0.1")).toEqual({ name: "10.0.0.1", port: "" })
    expect(parseAuthority("a_b.example:")).toEqual({ name: "a_b.example", port: "" })
  })

  it("refuses anything else", () => {
    for (
      const bad of [
        "",
        "a..b",
        ".a",
        "a b",
        "a/b",
        "a@b",
        "a,b",
        "a%41",
        "a:65536",
        "a:1x",
        "[::1",
        "[zz]",
        "::1",
        "a".repeat(64),
        `${"a.".repeat(130)}a`
      ]
    ) {
      expect(parseAuthority(bad), bad).toBeUndefined()
    }
  })
})
