/**
 * Whether a daemon URL points at this host (ADR 0820): `localhost`, a loopback address, or an address
 * literal of one of this host's interfaces. Only literals are compared (no name is resolved), so the
 * answer costs nothing; a daemon on this host reached by another name is simply treated as remote. Pure
 * but for reading the interface list. `DENIA_PUSH_COMPRESS=1` keeps the compressed upload for a local
 * daemon too (a node short of disk, or a test of that path).
 */
import * as os from "node:os"

const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

export const isLocalDaemonUrl = (url: string, interfaces = os.networkInterfaces): boolean => {
  let host: string
  try {
    host = new URL(url).hostname.toLowerCase()
  } catch {
    return false
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1)
  if (host === "localhost" || host === "::1" || LOOPBACK_V4.test(host)) return true
  return Object.values(interfaces()).some((list) => (list ?? []).some((a) => a.address.toLowerCase() === host))
}

/** Whether `denia push` sends its context as a plain tar to the daemon at `url` (ADR 0820). */
export const sendsPlainTar = (
  url: string,
  // read once here, like leanConnection.ts (the lean path loads no Effect Config)
  // eslint-disable-next-line no-restricted-properties -- the push's one Effect-free knob (ADR 0820)
  env: Readonly<Record<string, string | undefined>> = process.env
): boolean => env["DENIA_PUSH_COMPRESS"] !== "1" && isLocalDaemonUrl(url)
