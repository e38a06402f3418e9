/** Header rewriting between clients and replicas (hop-by-hop removal, forwarding headers, Via). */
import type * as http from "node:http"
import type * as net from "node:net"

// Request headers never forwarded as received (hop-by-hop or proxy-owned).
const DROP_REQUEST = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-real-ip",
  "forwarded",
  "host",
  "via"
])
const DROP_RESPONSE = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "trailer", "upgrade"])

export const clientIp = (socket: net.Socket | null): string => {
  const a = socket?.remoteAddress ?? ""
  return a.startsWith("::ffff:") ? a.slice(7) : a
}

const connectionTokens = (value: string | undefined): ReadonlySet<string> | undefined => {
  if (value === undefined) return undefined
  // the common values name no extra hop-by-hop header: skip the allocation
  const plain = value.length <= 10 ? value.toLowerCase() : ""
  if (plain === "keep-alive" || plain === "close" || plain === "upgrade") return undefined
  const out = new Set<string>()
  for (const t of value.split(",")) {
    const k = t.trim().toLowerCase()
    if (k !== "" && k !== "close" && k !== "keep-alive" && k !== "upgrade") out.add(k)
  }
  return out.size === 0 ? undefined : out
}

/**
 * Flat raw header list for the upstream request. `authority` is the request's
 * validated authority (its `Host`, or the absolute-form target's authority).
 */
export const upstreamHeaders = (
  req: http.IncomingMessage,
  ip: string,
  authority: string,
  proto: string,
  via: string,
  upgrade: boolean
): Array<string> => {
  const raw = req.rawHeaders
  const extra = connectionTokens(req.headers.connection)
  const out: Array<string> = []
  let priorVia: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? ""
    const lower = name.toLowerCase()
    if (DROP_REQUEST.has(lower)) {
      if (lower === "via") priorVia = priorVia === undefined ? raw[i + 1] : `${priorVia}, ${raw[i + 1]}`
      continue
    }
    if (extra !== undefined && extra.has(lower)) continue
    out.push(name, raw[i + 1] ?? "")
  }
  out.push("Host", authority)
  out.push("X-Forwarded-For", ip)
  out.push("X-Forwarded-Proto", proto)
  out.push("X-Forwarded-Host", authority)
  out.push("Via", priorVia === undefined ? via : `${priorVia}, ${via}`)
  if (upgrade) {
    out.push("Connection", "Upgrade")
    out.push("Upgrade", req.headers.upgrade ?? "")
  }
  return out
}

export const responseHeaders = (raw: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? ""
    if (DROP_RESPONSE.has(name.toLowerCase())) continue
    out.push(name, raw[i + 1] ?? "")
  }
  return out
}
