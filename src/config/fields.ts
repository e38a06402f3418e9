/**
 * Field kinds of the configuration file. Each kind knows how to decode a TOML
 * value, how to read the same value from a `DENIA_*` environment variable and
 * how to render itself back into TOML for the first-boot template.
 */
import { isIP } from "node:net"

export type Decoded<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly problem: string }

const ok = <A>(value: A): Decoded<A> => ({ ok: true, value })
const bad = (problem: string): Decoded<never> => ({ ok: false, problem })

export interface FieldKind<A> {
  readonly typeName: string
  readonly decode: (raw: unknown) => Decoded<A>
  readonly fromEnv: (raw: string) => unknown
  readonly render: (value: A) => string
}

const describe = (raw: unknown): string => {
  if (typeof raw === "string") return JSON.stringify(raw)
  if (raw instanceof Date) return "a date"
  if (Array.isArray(raw)) return "an array"
  if (raw !== null && typeof raw === "object") return "a table"
  return String(raw)
}

export const string = (check?: (s: string) => string | undefined): FieldKind<string> => ({
  typeName: "string",
  decode: (raw) => {
    if (typeof raw !== "string") return bad(`must be a string, got ${describe(raw)}`)
    if (raw.includes("\0")) return bad("must not contain NUL")
    const problem = check?.(raw)
    return problem === undefined ? ok(raw) : bad(problem)
  },
  fromEnv: (raw) => raw,
  render: (value) => JSON.stringify(value)
})

export const integer = (min: number, max: number): FieldKind<number> => ({
  typeName: "integer",
  decode: (raw) => {
    const n = typeof raw === "bigint" ? Number(raw) : raw
    if (typeof n !== "number" || !Number.isInteger(n)) return bad(`must be an integer, got ${describe(raw)}`)
    if (n < min || n > max) return bad(`must be between ${min} and ${max}, got ${n}`)
    return ok(n)
  },
  fromEnv: (raw) => (/^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw),
  render: (value) => String(value)
})

export const port = integer(1, 65535)

export const boolean: FieldKind<boolean> = {
  typeName: "boolean",
  decode: (raw) => (typeof raw === "boolean" ? ok(raw) : bad(`must be true or false, got ${describe(raw)}`)),
  fromEnv: (raw) => {
    const v = raw.trim().toLowerCase()
    return v === "true" || v === "1" || v === "yes" ? true : v === "false" || v === "0" || v === "no" ? false : raw
  },
  render: (value) => String(value)
}

/** Narrows `raw` to one of `literals` (a type guard, so no cast on the decoded value). */
const isOneOf = <L extends string>(literals: ReadonlyArray<L>, raw: string): raw is L => literals.some((l) => l === raw)

export const oneOf = <const L extends string>(...literals: ReadonlyArray<L>): FieldKind<L> => ({
  typeName: literals.map((l) => JSON.stringify(l)).join("|"),
  decode: (raw) =>
    typeof raw === "string" && isOneOf(literals, raw)
      ? ok(raw)
      : bad(`must be one of ${literals.join(", ")}, got ${describe(raw)}`),
  fromEnv: (raw) => raw,
  render: (value) => JSON.stringify(value)
})

export const stringList = (check?: (s: string) => string | undefined): FieldKind<ReadonlyArray<string>> => ({
  typeName: "array of strings",
  decode: (raw) => {
    if (!Array.isArray(raw)) return bad(`must be an array of strings, got ${describe(raw)}`)
    const out: Array<string> = []
    for (const [i, item] of raw.entries()) {
      if (typeof item !== "string") return bad(`item ${i} must be a string, got ${describe(item)}`)
      const problem = check?.(item)
      if (problem !== undefined) return bad(`item ${i} ${problem}`)
      out.push(item)
    }
    return ok(out)
  },
  fromEnv: (raw) =>
    raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  render: (value) => `[${value.map((v) => JSON.stringify(v)).join(", ")}]`
})

/** `host:port` where host is an IP literal (v6 in brackets) or `localhost`. */
export const parseAddress = (raw: string): { host: string; port: number } | undefined => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(raw)
  if (m === null) return undefined
  const host = m[1] ?? m[2] ?? ""
  const portNumber = Number(m[3])
  if (portNumber < 1 || portNumber > 65535) return undefined
  if (m[1] !== undefined && isIP(host) !== 6) return undefined
  if (m[2] !== undefined && host !== "localhost" && isIP(host) !== 4) return undefined
  return { host, port: portNumber }
}

export const address = string((s) =>
  parseAddress(s) === undefined
    ? `must be "host:port" with an IP address (or localhost) and a port 1-65535, got ${JSON.stringify(s)}`
    : undefined
)

/** Absolute path, `~/…` allowed (expanded by the loader). Empty means "derive". */
export const path = (allowEmpty: boolean) =>
  string((s) => {
    if (s === "") return allowEmpty ? undefined : "must not be empty"
    if (!(s.startsWith("/") || s.startsWith("~/"))) return `must be an absolute path (or start with ~/), got ${JSON.stringify(s)}`
    if (s.split("/").includes("..")) return `must not contain '..', got ${JSON.stringify(s)}`
    return undefined
  })

/** `lo-hi` inclusive port range. */
export const portRange = string((s) => {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(s)
  const lo = Number(m?.[1])
  const hi = Number(m?.[2])
  if (m === null || lo < 1 || hi > 65535 || lo > hi) return `must be "low-high" with 1 <= low <= high <= 65535, got ${JSON.stringify(s)}`
  return undefined
})

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
/** Lower-case DNS name (no wildcard, no trailing dot); empty allowed when `allowEmpty`. */
export const hostname = (allowEmpty: boolean) =>
  string((s) => {
    if (s === "") return allowEmpty ? undefined : "must not be empty"
    if (s.length > 253 || !s.split(".").every((l) => LABEL.test(l))) return `must be a lower-case DNS name, got ${JSON.stringify(s)}`
    return undefined
  })

export const hostPort = string((s) =>
  /^[a-z0-9.-]+(:\d{1,5})?$/i.test(s) || /^\[[0-9a-f:]+\](:\d{1,5})?$/i.test(s)
    ? undefined
    : `must be host[:port], got ${JSON.stringify(s)}`
)

export const url = (allowEmpty: boolean) =>
  string((s) => {
    if (s === "") return allowEmpty ? undefined : "must not be empty"
    try {
      const u = new URL(s)
      return u.protocol === "https:" || u.protocol === "http:" ? undefined : `must be an http(s) URL, got ${JSON.stringify(s)}`
    } catch {
      return `must be a URL, got ${JSON.stringify(s)}`
    }
  })

/** Why `entry` is not an IP address or CIDR (`trusted_proxies`), or undefined. */
export const ipOrCidrProblem = (entry: string): string | undefined => {
  const [addr = "", bits, ...rest] = entry.split("/")
  const family = isIP(addr)
  if (family === 0 || rest.length > 0) return `must be an IP address or CIDR (a.b.c.d/n), got ${JSON.stringify(entry)}`
  if (bits === undefined) return undefined
  const n = /^\d{1,3}$/.test(bits) ? Number(bits) : -1
  return n >= 0 && n <= (family === 4 ? 32 : 128) ? undefined : `has an invalid prefix length in ${JSON.stringify(entry)}`
}
