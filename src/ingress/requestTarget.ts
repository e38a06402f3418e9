/**
 * One authority per request (RFC 9112 §3.2, §3.3): the `Host` header and the
 * request target are validated together before routing, so the proxy and the
 * replica can never disagree on which host a request is for.
 *
 * - more than one `Host` field, a `Host` that is not `host[:port]`, or an
 *   empty/missing `Host` on HTTP/1.1 → refused;
 * - origin-form (`/path?query`) routes by `Host`;
 * - absolute-form (`http://a.example/x`) routes by its authority, which must
 *   match `Host` when one is sent; the replica receives origin-form and that
 *   authority as `Host`;
 * - `OPTIONS *` passes; any other target form (authority-form outside
 *   CONNECT, other schemes, userinfo) is refused.
 */
import type * as http from "node:http"
import { hostOf } from "./routes.js"

export interface RequestTarget {
  /** Normalised route key (lower-case DNS name, no port); "" when there is none. */
  readonly host: string
  /** The authority forwarded as `Host` / `X-Forwarded-Host`. */
  readonly authority: string
  /** Origin-form target for the upstream request. */
  readonly path: string
}

/** Why a request is refused (the 400 body names it). */
export type TargetError = { readonly reason: string }

const REG_NAME = /^(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?$/
const IP_LITERAL = /^\[[0-9A-Fa-f:.]{2,45}\]$/
const ABSOLUTE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s

interface Authority {
  readonly name: string
  readonly port: string
}

/** `uri-host [":" port]` restricted to DNS names and IP literals; undefined when invalid. */
export const parseAuthority = (value: string): Authority | undefined => {
  if (value.length === 0 || value.length > 300) return undefined
  let name = value
  let port = ""
  const close = value.lastIndexOf("]")
  const colon = value.lastIndexOf(":")
  if (colon > close) {
    name = value.slice(0, colon)
    port = value.slice(colon + 1)
    if (!/^[0-9]{0,5}$/.test(port) || (port !== "" && Number(port) > 65535)) return undefined
  }
  if (name.startsWith("[")) return IP_LITERAL.test(name) ? { name: name.toLowerCase(), port } : undefined
  if (name.length > 254 || !REG_NAME.test(name)) return undefined
  return { name: name.toLowerCase().replace(/\.$/, ""), port }
}

const DEFAULT_PORT: Record<string, string> = { http: "80", https: "443" }

const sameAuthority = (a: Authority, b: Authority, scheme: string): boolean => {
  const dflt = DEFAULT_PORT[scheme] ?? ""
  const port = (p: string) => (p === "" ? dflt : p)
  return a.name === b.name && port(a.port) === port(b.port)
}

const fail = (reason: string): TargetError => ({ reason })

/** Validates `Host` and the request target of one request. */
export const requestTarget = (req: http.IncomingMessage): RequestTarget | TargetError => {
  const raw = req.rawHeaders
  let hostFields = 0
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.length === 4 && raw[i]?.toLowerCase() === "host") hostFields++
  if (hostFields > 1) return fail("more than one Host header")
  const hostHeader = req.headers.host
  const http11 = req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1)
  if (http11 && (hostHeader === undefined || hostHeader === "")) return fail("HTTP/1.1 requests need a Host header")
  const hostAuthority = hostHeader === undefined || hostHeader === "" ? undefined : parseAuthority(hostHeader)
  if (hostHeader !== undefined && hostHeader !== "" && hostAuthority === undefined) return fail("Host is not a valid host[:port]")
  const authority = hostHeader ?? ""
  const url = req.url ?? "/"
  if (url.startsWith("/")) return { host: hostOf(authority), authority, path: url }
  if (url === "*" && req.method === "OPTIONS") return { host: hostOf(authority), authority, path: url }
  const m = ABSOLUTE.exec(url)
  if (m === null) return fail("request target is neither origin-form nor absolute-form")
  const scheme = (m[1] ?? "").toLowerCase()
  if (DEFAULT_PORT[scheme] === undefined) return fail(`request target scheme must be http or https`)
  const targetAuthority = m[2] ?? ""
  const parsed = parseAuthority(targetAuthority)
  if (parsed === undefined) return fail("request target authority is not a valid host[:port]")
  if (hostAuthority !== undefined && !sameAuthority(parsed, hostAuthority, scheme)) {
    return fail("Host does not match the request target's authority")
  }
  const rest = m[3] ?? ""
  const path = rest === "" ? "/" : rest.startsWith("?") ? `/${rest}` : rest
  if (!path.startsWith("/")) return fail("request target is neither origin-form nor absolute-form")
  return { host: hostOf(targetAuthority), authority: targetAuthority, path }
}

export const isTargetError = (t: RequestTarget | TargetError): t is TargetError => "reason" in t
