import type { HttpServerRequest } from "@effect/platform"
import { Option } from "effect"
import { isIP } from "node:net"

const isLoopback = (ip: string): boolean => ip === "::1" || ip.startsWith("127.") || ip.startsWith("::ffff:127.")

const normalise = (ip: string): string => (ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip)

/**
 * The client's IP: the socket peer, except that a loopback peer (the ingress)
 * may name the real client in `X-Forwarded-For` (its last hop, which the
 * ingress overwrites).
 */
export const clientIp = (request: HttpServerRequest.HttpServerRequest): string => {
  const peer = Option.getOrElse(request.remoteAddress, () => "unknown")
  if (!isLoopback(peer)) return normalise(peer)
  const forwarded = request.headers["x-forwarded-for"]
  if (forwarded === undefined) return normalise(peer)
  const last = forwarded.split(",").map((s) => s.trim()).filter(Boolean).at(-1)
  return last !== undefined && isIP(last) !== 0 ? normalise(last) : normalise(peer)
}
