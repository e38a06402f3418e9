import { describe, expect, it } from "vitest"
import { removalScript, renderRuleset, type RulesetInput } from "../../../src/network/nftRuleset.js"

const base: RulesetInput = {
  table: "denia",
  bridge: "denia0",
  bridgeAddress: "10.89.0.1",
  subnet: "10.89.0.0/16",
  egress: true,
  replicas: [
    { veth: "dnaaaa0001", address: "10.89.0.2", projectId: "p1" },
    { veth: "dnaaaa0002", address: "10.89.0.3", projectId: "p1" },
    { veth: "dnaaaa0003", address: "10.89.0.4", projectId: "p2" }
  ],
  forwards: [
    { protocol: "tcp", publicPort: 30000, targetPort: 6379, backends: ["10.89.0.2", "10.89.0.3"] },
    { protocol: "udp", publicPort: 31000, targetPort: 53, backends: ["10.89.0.4"] },
    { protocol: "tcp", publicPort: 30001, targetPort: 80, backends: [] }
  ]
}

describe("inet denia rule set", () => {
  const script = renderRuleset(base)

  it("replaces the whole table in one transaction", () => {
    expect(script.startsWith("table inet denia\ndelete table inet denia\ntable inet denia {\n")).toBe(true)
    expect(removalScript("denia_dnt1")).toBe("table inet denia_dnt1\ndelete table inet denia_dnt1\n")
  })

  it("lets each veth send only from its replica's address", () => {
    expect(script).toContain("type filter hook ingress device \"dnaaaa0001\" priority -500; policy accept;")
    expect(script).toContain("ether type ip ip saddr != 10.89.0.2 drop")
    expect(script).toContain("ether type arp arp saddr ip != 10.89.0.4 drop")
  })

  it("groups replicas by project: same project any port, others dropped", () => {
    expect(script).toContain(
      "iifname \"denia0\" oifname \"denia0\" ip saddr vmap { 10.89.0.2 : jump project_0, 10.89.0.3 : jump project_0, 10.89.0.4 : jump project_1 }"
    )
    expect(script).toMatch(/chain project_0 \{\n {4}ip daddr \{ 10\.89\.0\.2, 10\.89\.0\.3 \} accept\n {4}drop\n/)
    expect(script).toMatch(/chain project_1 \{\n {4}ip daddr \{ 10\.89\.0\.4 \} accept\n/)
    expect(script).toContain("iifname \"denia0\" oifname \"denia0\" drop")
  })

  it("keeps replicas off the host except DNS on the bridge address", () => {
    expect(script).toContain(
      "iifname \"denia0\" ip daddr 10.89.0.1 meta l4proto { tcp, udp } th dport 53 accept\n    iifname \"denia0\" drop"
    )
    expect(script).toContain("iifname \"denia0\" ip daddr 127.0.0.0/8 drop")
  })

  it("balances a TCP endpoint over its healthy replicas and skips endpoints without any", () => {
    const rule = "fib daddr type local tcp dport 30000 dnat ip to numgen inc mod 2 map { 0 : 10.89.0.2, 1 : 10.89.0.3 }:6379"
    expect(script.split(rule).length).toBe(3) // prerouting and output
    expect(script).toContain("fib daddr type local udp dport 31000 dnat ip to 10.89.0.4:53")
    expect(script).not.toContain("dport 30001")
  })

  it("masquerades egress only when it is on", () => {
    expect(script).toContain("ip saddr 10.89.0.0/16 oifname != \"denia0\" masquerade")
    expect(script).toContain("iifname \"denia0\" accept")
    const off = renderRuleset({ ...base, egress: false })
    expect(off).not.toContain("oifname != \"denia0\" masquerade")
    expect(off).toContain("iifname \"denia0\" drop\n    oifname \"denia0\" ct status dnat accept")
  })

  it("never lets a name break out of its quotes", () => {
    const evil = renderRuleset({ ...base, bridge: "br\" accept #", replicas: [] })
    expect(evil).toContain("iifname \"braccept\"")
  })
})
