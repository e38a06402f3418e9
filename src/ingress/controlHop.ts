/**
 * Control-domain requests relayed to the loopback API carry the per-boot hop
 * secret, so the API believes the `X-Forwarded-For` the ingress wrote (and
 * nobody else's). Any client-sent copy of the header is dropped first.
 */
import { INGRESS_HOP_HEADER, ingressHopSecret } from "../auth/ingressHop.js"

/** `headers` (flat raw list from `upstreamHeaders`) for the API hop: client copies removed, ours appended. */
export const withControlHop = (headers: Array<string>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] ?? ""
    if (name.toLowerCase() === INGRESS_HOP_HEADER) continue
    out.push(name, headers[i + 1] ?? "")
  }
  out.push(INGRESS_HOP_HEADER, ingressHopSecret())
  return out
}
