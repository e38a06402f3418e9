import { describe, expect, it } from "vitest"
import {
  forwardsKey,
  join,
  leave,
  removalScript,
  renderedProjects,
  renderRuleset,
  replicaDown,
  replicaUp,
  type RulesetInput
} from "../../../src/network/nftRuleset.js"

const base: RulesetInput = {
  table: "denia",
  bridge: "denia0",
  bridgeAddress: "10.89.0.1",
  subnet: "10.89.0.0/16",
  egress: true,
  replicas: [
    { veth: "dnaaaa0001", address: "10.89.0.2", project: 0 },
    { veth: "dnaaaa0002", address: "10.89.0.3", project: 0 },
    { veth: "dnaaaa0003", address: "10.89.0.4", project: 1 },
    { veth: "dnaaaa0004", address: "10.89.0.5", project: null }
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
    expect(script).toContain("iifname \"denia0\" oifname \"denia0\" ip saddr vmap @replica_project\n")
    expect(script).toMatch(
      /map replica_project \{\n {4}type ipv4_addr : verdict\n {4}elements = \{ 10\.89\.0\.2 : jump project_0, 10\.89\.0\.3 : jump project_0, 10\.89\.0\.4 : jump project_1 \}\n/
    )
    expect(script).toMatch(/set project_0_members \{\n {4}type ipv4_addr\n {4}elements = \{ 10\.89\.0\.2, 10\.89\.0\.3 \}\n/)
    expect(script).toMatch(/chain project_0 \{\n {4}ip daddr @project_0_members accept\n {4}drop\n/)
    expect(script).toMatch(/set project_1_members \{\n {4}type ipv4_addr\n {4}elements = \{ 10\.89\.0\.4 \}\n/)
    expect(script).toContain("iifname \"denia0\" oifname \"denia0\" drop")
    // the project's set and chain are declared before the map and chain that refer to them
    expect(script.indexOf("set project_1_members")).toBeLessThan(script.indexOf("chain project_1 "))
    expect(script.indexOf("chain project_1 ")).toBeLessThan(script.indexOf("map replica_project"))
    expect(renderedProjects(base.replicas)).toEqual(new Set([0, 1]))
  })

  it("keeps a pooled namespace in no project but guards its veth", () => {
    expect(script).toContain("ether type ip ip saddr != 10.89.0.5 drop")
    expect(script).not.toMatch(/10\.89\.0\.5 : jump/)
    expect(script).not.toMatch(/elements = \{[^}]*10\.89\.0\.5/)
    const empty = renderRuleset({ ...base, replicas: [] })
    expect(empty).toContain("map replica_project {\n    type ipv4_addr : verdict\n  }")
    expect(empty).not.toContain("set project_")
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

  it("renders the incremental updates as commands on the same objects", () => {
    expect(replicaUp("denia", "dnaaaa0009", "10.89.0.9")).toEqual([
      "add chain inet denia spoof_dnaaaa0009 { type filter hook ingress device \"dnaaaa0009\" priority -500; policy accept; }",
      "add rule inet denia spoof_dnaaaa0009 ether type arp arp saddr ip != 10.89.0.9 drop",
      "add rule inet denia spoof_dnaaaa0009 ether type ip ip saddr != 10.89.0.9 drop",
      "add rule inet denia spoof_dnaaaa0009 ether type != { ip, arp } drop"
    ])
    expect(replicaDown("denia", "dnaaaa0009")).toEqual(["delete chain inet denia spoof_dnaaaa0009"])
    expect(join("denia", "10.89.0.9", 3, true)).toEqual([
      "add set inet denia project_3_members { type ipv4_addr; }",
      "add chain inet denia project_3",
      "add rule inet denia project_3 ip daddr @project_3_members accept",
      "add rule inet denia project_3 drop",
      "add element inet denia project_3_members { 10.89.0.9 }",
      "add element inet denia replica_project { 10.89.0.9 : jump project_3 }"
    ])
    expect(join("denia", "10.89.0.9", 3, false)).toHaveLength(2)
    expect(leave("denia", "10.89.0.9", 3)).toEqual([
      "delete element inet denia replica_project { 10.89.0.9 }",
      "delete element inet denia project_3_members { 10.89.0.9 }"
    ])
    expect(join("denia", "10.89.0.9; flush ruleset", 1, false).join(" ")).not.toContain("flush")
  })

  it("keys the DNAT part so an unchanged endpoint set needs no full render", () => {
    expect(forwardsKey(base.forwards)).toBe(forwardsKey([...base.forwards].reverse()))
    expect(forwardsKey(base.forwards)).not.toBe(forwardsKey(base.forwards.slice(1)))
    expect(forwardsKey([{ protocol: "tcp", publicPort: 30001, targetPort: 80, backends: [] }])).toBe("")
  })
})
