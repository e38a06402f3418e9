/**
 * Upstream resolvers: parsing `ip` / `ip:port` / `[ipv6]:port` strings and
 * reading the host's `nameserver` lines from resolv.conf.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import { DnsConfigError } from "./errors.js"

export interface Upstream {
  readonly host: string
  readonly port: number
  readonly family: 4 | 6
}

const familyOf = (host: string): 4 | 6 | null => {
  const bare = host.includes("%") ? host.slice(0, host.indexOf("%")) : host
  const v = net.isIP(bare)
  return v === 4 ? 4 : v === 6 ? 6 : null
}

const parsePort = (text: string): number | null => {
  if (!/^\d{1,5}$/.test(text)) return null
  const port = Number(text)
  return port >= 1 && port <= 65535 ? port : null
}

/** `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353`, `fe80::1%eth0` → an upstream (port 53 by default), or null. */
export const parseUpstream = (text: string): Upstream | null => {
  const s = text.trim()
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s)
  if (bracketed !== null) {
    const host = bracketed[1] ?? ""
    const port = bracketed[2] === undefined ? 53 : parsePort(bracketed[2])
    return familyOf(host) === 6 && port !== null ? { host, port, family: 6 } : null
  }
  const direct = familyOf(s)
  if (direct !== null) return { host: s, port: 53, family: direct }
  const hostPort = /^([^:]+):(\d+)$/.exec(s)
  if (hostPort === null) return null
  const host = hostPort[1] ?? ""
  const port = parsePort(hostPort[2] ?? "")
  return familyOf(host) === 4 && port !== null ? { host, port, family: 4 } : null
}

/** The `nameserver` addresses of a resolv.conf text, in order (invalid entries skipped). */
export const parseResolvConf = (text: string): ReadonlyArray<string> =>
  text
    .split("\n")
    .map((line) => line.replace(/[#;].*$/, "").trim().split(/\s+/))
    .filter((words) => words[0] === "nameserver" && words[1] !== undefined && familyOf(words[1]) !== null)
    .map((words) => words[1] ?? "")

/**
 * The host's resolvers from `path` (default `/etc/resolv.conf`). A missing
 * file gives an empty list (forwards then answer SERVFAIL); any other read
 * failure is a `DnsConfigError` on field `resolv_conf`.
 */
export const readHostResolvers = (path = "/etc/resolv.conf"): Effect.Effect<ReadonlyArray<string>, DnsConfigError> =>
  Effect.tryPromise({ try: () => fs.readFile(path, "utf8"), catch: (cause) => cause }).pipe(
    Effect.map(parseResolvConf),
    Effect.catchAll((cause) =>
      cause instanceof Error && "code" in cause && cause.code === "ENOENT"
        ? Effect.succeed([])
        : Effect.fail(new DnsConfigError({ field: "resolv_conf", message: `resolv_conf: cannot read ${path}`, cause }))
    )
  )
