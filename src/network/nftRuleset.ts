/**
 * The `inet denia` nftables table, rendered from the node network's state
 * (pure). The whole table is replaced in one `nft -f` transaction (create if
 * missing, delete, re-create), so a change is atomic: a connection never sees
 * half a rule set. See ADR 0701 for the rules and why they look like this.
 */

export interface RulesetReplica {
  /** Host side of the replica's veth pair (a bridge port). */
  readonly veth: string
  readonly address: string
  readonly projectId: string
}

export interface RulesetForward {
  readonly protocol: "tcp" | "udp"
  readonly publicPort: number
  readonly targetPort: number
  /** Addresses of the service's healthy replicas; empty = nothing forwarded. */
  readonly backends: ReadonlyArray<string>
}

export interface RulesetInput {
  /** Table name in the inet family. */
  readonly table: string
  readonly bridge: string
  readonly bridgeAddress: string
  /** `a.b.c.d/n` */
  readonly subnet: string
  readonly egress: boolean
  readonly replicas: ReadonlyArray<RulesetReplica>
  readonly forwards: ReadonlyArray<RulesetForward>
}

/** Interface names are ours (validated when configured); never let one break out of its quotes. */
const safeName = (name: string) => `"${name.replace(/[^A-Za-z0-9_.-]/g, "")}"`

const dnatTarget = (backends: ReadonlyArray<string>, port: number) =>
  backends.length === 1
    ? `${backends[0]}:${port}`
    : `numgen inc mod ${backends.length} map { ${backends.map((b, i) => `${i} : ${b}`).join(", ")} }:${port}`

const forwardRules = (forwards: ReadonlyArray<RulesetForward>) =>
  [...forwards]
    .filter((f) => f.backends.length > 0)
    .sort((a, b) => a.protocol.localeCompare(b.protocol) || a.publicPort - b.publicPort)
    .map((f) => `    fib daddr type local ${f.protocol} dport ${f.publicPort} dnat ip to ${dnatTarget(f.backends, f.targetPort)}`)

/** Project ids in first-seen order, each with its replicas' addresses. */
const byProject = (replicas: ReadonlyArray<RulesetReplica>) => {
  const groups = new Map<string, Array<string>>()
  for (const r of replicas) groups.set(r.projectId, [...(groups.get(r.projectId) ?? []), r.address])
  return [...groups.values()]
}

/** The `nft -f` script that makes the table exactly `input`. */
export const renderRuleset = (input: RulesetInput): string => {
  const br = safeName(input.bridge)
  const t = input.table
  const lines: Array<string> = [`table inet ${t}`, `delete table inet ${t}`, `table inet ${t} {`]
  const projects = byProject(input.replicas)
  // Anti-spoofing: what enters the host from a replica's veth carries its own address (IPv4 and ARP only).
  for (const r of input.replicas) {
    lines.push(
      `  chain spoof_${r.veth.replace(/[^A-Za-z0-9_]/g, "_")} {`,
      `    type filter hook ingress device ${safeName(r.veth)} priority -500; policy accept;`,
      `    ether type arp arp saddr ip != ${r.address} drop`,
      `    ether type ip ip saddr != ${r.address} drop`,
      `    ether type != { ip, arp } drop`,
      "  }"
    )
  }
  // Routing 127/8 to the bridge is enabled for host-local endpoint connections (route_localnet); nothing from it may enter that way.
  lines.push(
    "  chain guard {",
    "    type filter hook prerouting priority raw; policy accept;",
    `    iifname ${br} ip daddr 127.0.0.0/8 drop`,
    `    iifname ${br} ip saddr != ${input.subnet} drop`,
    "  }"
  )
  const dnat = forwardRules(input.forwards)
  lines.push("  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;", ...dnat, "  }")
  lines.push("  chain output {", "    type nat hook output priority -100; policy accept;", ...dnat, "  }")
  lines.push(
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    oifname ${br} ip saddr 127.0.0.0/8 masquerade`,
    `    iifname ${br} oifname ${br} ct status dnat masquerade`,
    ...(input.egress ? [`    ip saddr ${input.subnet} oifname != ${br} masquerade`] : []),
    "  }"
  )
  const vmap = input.replicas.length === 0
    ? []
    : [
      `    iifname ${br} oifname ${br} ip saddr vmap { ${
        projects.flatMap((addrs, i) => addrs.map((a) => `${a} : jump project_${i}`)).join(", ")
      } }`
    ]
  lines.push(
    "  chain forward {",
    "    type filter hook forward priority filter; policy accept;",
    "    ct state established,related accept",
    ...vmap,
    `    iifname ${br} oifname ${br} drop`,
    `    iifname ${br} ${input.egress ? "accept" : "drop"}`,
    `    oifname ${br} ct status dnat accept`,
    `    oifname ${br} drop`,
    "  }"
  )
  projects.forEach((addrs, i) => {
    lines.push(`  chain project_${i} {`, `    ip daddr { ${addrs.join(", ")} } accept`, "    drop", "  }")
  })
  lines.push(
    "  chain input {",
    "    type filter hook input priority filter; policy accept;",
    `    iifname ${br} ct state established,related accept`,
    `    iifname ${br} ip daddr ${input.bridgeAddress} meta l4proto { tcp, udp } th dport 53 accept`,
    `    iifname ${br} drop`,
    "  }",
    "}"
  )
  return `${lines.join("\n")}\n`
}

/** Removes the table (uninstall, tests); `table` first so the delete never fails on a missing table. */
export const removalScript = (table: string) => `table inet ${table}\ndelete table inet ${table}\n`
