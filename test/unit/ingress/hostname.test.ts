import { describe, expect, it } from "vitest"
import { validateHostname } from "../../../src/domain/domain.js"
import { buildSnapshot, hostOf } from "../../../src/ingress/routes.js"

describe("validateHostname", () => {
  it("accepts DNS names and lowercases them", () => {
    expect(validateHostname("App.Example.COM")).toEqual({ ok: true, hostname: "app.example.com" })
    expect(validateHostname("xn--bcher-kva.example")).toEqual({ ok: true, hostname: "xn--bcher-kva.example" })
    expect(validateHostname(`${"a".repeat(63)}.example.com`).ok).toBe(true)
  })

  it.each([
    ["", "empty"],
    ["*.example.com", "wildcard"],
    ["a.*.example.com", "wildcard"],
    ["exa mple.com", "spaces"],
    ["exa\u0000mple.com", "control"],
    ["exa\nmple.com", "control"],
    ["exa\u007fmple.com", "control"],
    ["bücher.example", "ASCII"],
    ["a..b.com", "empty labels"],
    [".example.com", "dot"],
    ["example.com.", "dot"],
    ["localhost", "two labels"],
    [`${"a".repeat(64)}.example.com`, "63"],
    [`${"abcdefghi.".repeat(26)}com`, "253"],
    ["-a.example.com", "'-'"],
    ["a-.example.com", "'-'"],
    ["a_b.example.com", "a-z"],
    ["10.0.0.1", "IP"]
  ])("rejects %j (%s)", (input, why) => {
    const r = validateHostname(input)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toContain(why)
  })
})

describe("route table", () => {
  const snapshot = buildSnapshot({
    baseDomain: "apps.test",
    controlDomain: "admin.example.com",
    controlTls: true,
    services: [
      { id: "s1", name: "web", projectName: "p", tlsEnabled: true },
      { id: "s2", name: "api", projectName: "p", tlsEnabled: false }
    ],
    domains: [
      { id: "d1", serviceId: "s1", hostname: "www.example.com", status: "verified", token: "t1", proof: "p1" },
      { id: "d2", serviceId: "s2", hostname: "api.example.com", status: "pending", token: "t2", proof: "p2" },
      { id: "d3", serviceId: "gone", hostname: "x.example.com", status: "verified", token: "t3", proof: "p3" }
    ]
  })

  it("maps default hostnames, verified domains and the control domain; pending domains only expose their challenge", () => {
    expect([...snapshot.hosts.keys()].sort()).toEqual(["admin.example.com", "api.p.apps.test", "web.p.apps.test", "www.example.com"])
    expect(snapshot.hosts.get("www.example.com")).toMatchObject({ kind: "service", serviceId: "s1", source: "domain", tlsEnabled: true })
    expect(snapshot.hosts.get("web.p.apps.test")).toMatchObject({ kind: "service", serviceId: "s1", source: "default", tlsEnabled: false })
    expect(snapshot.hosts.get("admin.example.com")).toMatchObject({ kind: "control", tlsEnabled: true })
    expect(snapshot.challenges.get("t2")).toEqual({ hostname: "api.example.com", token: "t2", proof: "p2" })
    expect(snapshot.challenges.has("t1")).toBe(false)
  })

  it("normalises Host headers", () => {
    expect(hostOf("WWW.Example.com:8080")).toBe("www.example.com")
    expect(hostOf("www.example.com.")).toBe("www.example.com")
    expect(hostOf("[::1]:80")).toBe("")
    expect(hostOf(undefined)).toBe("")
  })
})
