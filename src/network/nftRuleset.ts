/**
 * The `inet denia` nftables table, rendered from the node network's state
 * (pure). `renderRuleset` replaces the whole table in one `nft -f`
 * transaction (create if missing, delete, re-create): boot, the periodic
 * resync and endpoint (DNAT) changes. Attaching and detaching a replica only
 * touch named objects — its anti-spoofing chain, its element in the
 * `replica_project` verdict map and in its project's member set — with one
 * line of commands (`replicaUp`, `join`, `leave`, `replicaDown`), which nft
 * commits as one transaction too. ADR 0701 (the rules), ADR 0705 (the
 * incremental path).
 */

export interface RulesetReplica {
  /** Host side of the replica's veth pair (a bridge port). */
  readonly veth: string
  readonly address: string
  /** The project's tag (`project_<n>`), null while the namespace waits in the pool (member of nothing). */
  readonly project: number | null
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

/** Addresses come from our IPAM; anything else never reaches a script. */
const safeAddress = (address: string) => address.replace(/[^0-9.]/g, "")

const spoofChain = (veth: string) => `spoof_${veth.replace(/[^A-Za-z0-9_]/g, "_")}`
const projectChain = (tag: number) => `project_${Math.trunc(tag)}`
const projectSet = (tag: number) => `${projectChain(tag)}_members`
const PROJECT_MAP = "replica_project"

const spoofHook = (veth: string) => `type filter hook ingress device ${safeName(veth)} priority -500; policy accept;`
/** Anti-spoofing: what enters the host from a replica's veth carries its own address (IPv4 and ARP only). */
const spoofRules = (address: string) => {
  const a = safeAddress(address)
  return [`ether type arp arp saddr ip != ${a} drop`, `ether type ip ip saddr != ${a} drop`, "ether type != { ip, arp } drop"]
}
const projectRules = (tag: number) => [`ip daddr @${projectSet(tag)} accept`, "drop"]

const dnatTarget = (backends: ReadonlyArray<string>, port: number) =>
  backends.length === 1
    ? `${backends[0]}:${port}`
    : `numgen inc mod ${backends.length} map { ${backends.map((b, i) => `${i} : ${b}`).join(", ")} }:${port}`

const forwardRules = (forwards: ReadonlyArray<RulesetForward>) =>
  [...forwards]
    .filter((f) => f.backends.length > 0)
    .sort((a, b) => a.protocol.localeCompare(b.protocol) || a.publicPort - b.publicPort)
    .map((f) => `    fib daddr type local ${f.protocol} dport ${f.publicPort} dnat ip to ${dnatTarget(f.backends, f.targetPort)}`)

/** The DNAT part of the table: when it is unchanged, a change of replicas needs no full render. */
export const forwardsKey = (forwards: ReadonlyArray<RulesetForward>): string => forwardRules(forwards).join("\n")

/** Project tags in ascending order, each with its members' addresses. */
const byProject = (replicas: ReadonlyArray<RulesetReplica>) => {
  const groups = new Map<number, Array<string>>()
  for (const r of replicas) {
    if (r.project !== null) groups.set(r.project, [...(groups.get(r.project) ?? []), safeAddress(r.address)])
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0])
}

/** The project tags a full render leaves in the table (what `join` must not create again). */
export const renderedProjects = (replicas: ReadonlyArray<RulesetReplica>): ReadonlySet<number> =>
  new Set(byProject(replicas).map(([tag]) => tag))

const elements = (items: ReadonlyArray<string>) => items.length === 0 ? [] : [`    elements = { ${items.join(", ")} }`]

/** The `nft -f` script that makes the table exactly `input`. */
export const renderRuleset = (input: RulesetInput): string => {
  const br = safeName(input.bridge)
  const t = input.table
  const lines: Array<string> = [`table inet ${t}`, `delete table inet ${t}`, `table inet ${t} {`]
  const projects = byProject(input.replicas)
  for (const r of input.replicas) {
    lines.push(`  chain ${spoofChain(r.veth)} {`, `    ${spoofHook(r.veth)}`, ...spoofRules(r.address).map((l) => `    ${l}`), "  }")
  }
  // Per project: the set of its members and a chain that accepts only them; the map sends each member's traffic there.
  for (const [tag, addrs] of projects) {
    lines.push(`  set ${projectSet(tag)} {`, "    type ipv4_addr", ...elements(addrs), "  }")
    lines.push(`  chain ${projectChain(tag)} {`, ...projectRules(tag).map((l) => `    ${l}`), "  }")
  }
  lines.push(
    `  map ${PROJECT_MAP} {`,
    "    type ipv4_addr : verdict",
    ...elements(projects.flatMap(([tag, addrs]) => addrs.map((a) => `${a} : jump ${projectChain(tag)}`))),
    "  }"
  )
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
  lines.push(
    "  chain forward {",
    "    type filter hook forward priority filter; policy accept;",
    "    ct state established,related accept",
    `    iifname ${br} oifname ${br} ip saddr vmap @${PROJECT_MAP}`,
    `    iifname ${br} oifname ${br} drop`,
    `    iifname ${br} ${input.egress ? "accept" : "drop"}`,
    `    oifname ${br} ct status dnat accept`,
    `    oifname ${br} drop`,
    "  }"
  )
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

// Incremental updates: each is a list of commands the caller sends as one line (one transaction).

/** A new namespace's veth: its anti-spoofing chain (before anything can run behind it). */
export const replicaUp = (table: string, veth: string, address: string): ReadonlyArray<string> => {
  const c = spoofChain(veth)
  return [`add chain inet ${table} ${c} { ${spoofHook(veth)} }`, ...spoofRules(address).map((r) => `add rule inet ${table} ${c} ${r}`)]
}

/** A removed namespace's veth: its anti-spoofing chain goes. */
export const replicaDown = (table: string, veth: string): ReadonlyArray<string> => [`delete chain inet ${table} ${spoofChain(veth)}`]

/** `address` becomes a member of project `tag` (`create`: the project's set and chain do not exist yet). */
export const join = (table: string, address: string, tag: number, create: boolean): ReadonlyArray<string> => {
  const a = safeAddress(address)
  return [
    ...(create
      ? [
        `add set inet ${table} ${projectSet(tag)} { type ipv4_addr; }`,
        `add chain inet ${table} ${projectChain(tag)}`,
        ...projectRules(tag).map((r) => `add rule inet ${table} ${projectChain(tag)} ${r}`)
      ]
      : []),
    `add element inet ${table} ${projectSet(tag)} { ${a} }`,
    `add element inet ${table} ${PROJECT_MAP} { ${a} : jump ${projectChain(tag)} }`
  ]
}

/** `address` leaves project `tag` (its set and chain stay until the next full render). */
export const leave = (table: string, address: string, tag: number): ReadonlyArray<string> => {
  const a = safeAddress(address)
  return [`delete element inet ${table} ${PROJECT_MAP} { ${a} }`, `delete element inet ${table} ${projectSet(tag)} { ${a} }`]
}
