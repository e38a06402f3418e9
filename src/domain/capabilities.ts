/**
 * The capability model of a service (ADR 0016, issue 16): root in the image
 * gets a container engine's default set, held only inside the replica's user
 * namespace; a service may `drop` any of them (`"ALL"` = none) and `add`
 * back defaults or a few more from a safe list. Everything that reaches
 * beyond the replica (modules, raw I/O, clock, MAC, BPF, perf, mount) is
 * never grantable.
 */
import { Schema } from "effect"

/** The capabilities a container engine gives root by default (held only inside the replica's user namespace). */
export const DEFAULT_CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "NET_BIND_SERVICE",
  "NET_RAW",
  "SYS_CHROOT",
  "MKNOD",
  "AUDIT_WRITE",
  "SETFCAP"
] as const

/** Capabilities a service may `add` beyond the default set (ADR 0016). */
export const ADDABLE_CAPABILITIES = [
  "NET_ADMIN",
  "SYS_PTRACE",
  "SYS_NICE",
  "SYS_RESOURCE",
  "IPC_LOCK",
  "LEASE",
  "AUDIT_READ",
  "NET_BROADCAST",
  "WAKE_ALARM",
  "BLOCK_SUSPEND"
] as const

export type CapabilityName = typeof DEFAULT_CAPABILITIES[number] | typeof ADDABLE_CAPABILITIES[number]

/** Never grantable, whatever the service asks: they reach past the user namespace or weaken the sandbox itself. */
export const FORBIDDEN_CAPABILITIES = [
  "SYS_ADMIN",
  "SYS_MODULE",
  "SYS_BOOT",
  "SYS_RAWIO",
  "SYS_TIME",
  "MAC_ADMIN",
  "MAC_OVERRIDE",
  "BPF",
  "PERFMON",
  "SYS_PACCT",
  "SYS_TTY_CONFIG",
  "DAC_READ_SEARCH",
  "LINUX_IMMUTABLE",
  "IPC_OWNER",
  "AUDIT_CONTROL",
  "SYSLOG",
  "CHECKPOINT_RESTORE"
] as const

const DEFAULT_SET: ReadonlySet<string> = new Set(DEFAULT_CAPABILITIES)
const ADDABLE_SET: ReadonlySet<string> = new Set([...DEFAULT_CAPABILITIES, ...ADDABLE_CAPABILITIES])
const FORBIDDEN_SET: ReadonlySet<string> = new Set(FORBIDDEN_CAPABILITIES)

/** `cap_net_admin`, `CAP_NET_ADMIN` and `net_admin` all name `NET_ADMIN`. */
export const canonicalCapability = (name: string): string => name.trim().toUpperCase().replace(/^CAP_/, "")

const isCapabilityName = (s: string): s is CapabilityName => ADDABLE_SET.has(s)

/** Why `name` may not be added, undefined when it may. */
export const addProblem = (name: string): string | undefined => {
  const c = canonicalCapability(name)
  if (FORBIDDEN_SET.has(c)) return `${c} is never granted to a service (it reaches past the replica's user namespace)`
  if (ADDABLE_SET.has(c)) return undefined
  return `${c} is not a capability a service may add; allowed: ${[...ADDABLE_SET].join(", ")}`
}

/** Why `name` may not be dropped, undefined when it may (`ALL` or a default capability). */
export const dropProblem = (name: string): string | undefined => {
  const c = canonicalCapability(name)
  if (c === "ALL" || DEFAULT_SET.has(c)) return undefined
  return `${c} is not in the default set; drop one of ${DEFAULT_CAPABILITIES.join(", ")} or ALL`
}

const capabilityList = (problem: (name: string) => string | undefined) =>
  Schema.Array(
    Schema.String.pipe(
      Schema.maxLength(64, { message: () => "capability names are at most 64 characters" }),
      Schema.compose(Schema.transform(Schema.String, Schema.String, { strict: true, decode: canonicalCapability, encode: (s) => s })),
      Schema.filter((s) => problem(s) ?? true)
    )
  ).pipe(Schema.maxItems(64, { message: () => "at most 64 capabilities" }))

/** `{add?, drop?}`; names are stored canonical (upper case, no `CAP_`). */
export const Capabilities = Schema.Struct({
  add: Schema.optional(capabilityList(addProblem)),
  drop: Schema.optional(capabilityList(dropProblem))
}).pipe(
  Schema.filter((c) => {
    const dropped = new Set((c.drop ?? []).map(canonicalCapability))
    const i = (c.add ?? []).findIndex((a) => dropped.has(canonicalCapability(a)))
    return i < 0 ? true : {
      path: ["add", i],
      message: `${canonicalCapability(c.add?.[i] ?? "")} is both added and dropped; list it in one of them`
    }
  })
).annotations({ identifier: "Capabilities" })
export type Capabilities = typeof Capabilities.Type

/**
 * The capability names the replica keeps: the default set minus `drop`
 * (`ALL` drops every one), plus `add`; in a stable order (defaults first).
 */
export const resolveCapabilities = (caps: Capabilities): ReadonlyArray<CapabilityName> => {
  const drop = new Set((caps.drop ?? []).map(canonicalCapability))
  const keep = new Set<CapabilityName>(drop.has("ALL") ? [] : DEFAULT_CAPABILITIES.filter((c) => !drop.has(c)))
  for (const a of caps.add ?? []) {
    const c = canonicalCapability(a)
    if (isCapabilityName(c)) keep.add(c)
  }
  const order = [...DEFAULT_CAPABILITIES, ...ADDABLE_CAPABILITIES]
  return order.filter((c) => keep.has(c))
}

/** One line for people: `engine defaults`, `none`, `engine defaults − NET_RAW + NET_ADMIN`, `none + NET_BIND_SERVICE`. */
export const describeCapabilities = (caps: Capabilities): string => {
  const drop = (caps.drop ?? []).map(canonicalCapability)
  const base = drop.includes("ALL") ? "none" : "engine defaults"
  const minus = drop.filter((d) => d !== "ALL").map((d) => ` − ${d}`).join("")
  const plus = (caps.add ?? []).map((a) => ` + ${canonicalCapability(a)}`).join("")
  return `${base}${minus}${plus}`
}
