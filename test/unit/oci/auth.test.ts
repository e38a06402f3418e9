import { describe, expect, it } from "vitest"
import { credentialsKey, parseWwwAuthenticate, TokenCache } from "../../../src/oci/auth.js"

describe("parseWwwAuthenticate", () => {
  it("parses a Bearer challenge with quoted params", () => {
    const [c] = parseWwwAuthenticate(
      "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/nginx:pull,push\""
    )
    expect(c).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/nginx:pull,push" }
    })
  })
  it("parses Basic, unquoted values, escapes and several challenges", () => {
    expect(parseWwwAuthenticate("Basic realm=\"Denia \\\"Registry\\\"\"")).toEqual([{
      scheme: "basic",
      params: { realm: "Denia \"Registry\"" }
    }])
    const two = parseWwwAuthenticate("Basic realm=x, Bearer realm=\"https://a/t\",error=\"invalid_token\"")
    expect(two.map((c) => c.scheme)).toEqual(["basic", "bearer"])
    expect(two[1]?.params["error"]).toBe("invalid_token")
    expect(parseWwwAuthenticate("")).toEqual([])
  })
})

describe("TokenCache", () => {
  it("expires tokens ahead of expires_in and separates credentials", () => {
    let now = 1_000_000
    const cache = new TokenCache(() => now)
    const anon = TokenCache.key("https://a/t", "svc", "repository:x:pull", { kind: "anonymous" })
    const alice = TokenCache.key("https://a/t", "svc", "repository:x:pull", { kind: "basic", username: "alice", password: "p" })
    expect(anon).not.toBe(alice)
    expect(alice).not.toContain("alice")
    cache.set(alice, "tok", 60)
    expect(cache.get(alice)).toBe("tok")
    expect(cache.get(anon)).toBeUndefined()
    now += 54_000
    expect(cache.get(alice)).toBe("tok")
    now += 2_000
    expect(cache.get(alice)).toBeUndefined()
    expect(credentialsKey({ kind: "bearer", token: "abc" })).toHaveLength(32)
  })
})
