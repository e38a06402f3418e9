/** The `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` a replica gets (bound read-only by the helper). */
import { Effect } from "effect"
import * as fsSync from "node:fs"
import * as path from "node:path"
import { errorMessage, RuntimeIoError } from "./errors.js"
import type { EtcFiles } from "./types.js"

export const HOST_RESOLV_CONF = "/etc/resolv.conf"
/** Host files read for a replica are small; anything larger is cut here. */
export const MAX_HOST_FILE_BYTES = 64 * 1024

export interface EtcFilePaths {
  readonly hosts: string
  readonly hostname: string
  readonly resolvConf: string
}

const isLoopback = (addr: string): boolean => /^127\./.test(addr) || addr === "::1" || /^0*:(0*:)*0*1$/.test(addr)

/** Keep the host's non-loopback nameservers and its search/options lines. */
export const resolvConfFromHost = (host: string | null): string => {
  if (host === null) return "# the host has no /etc/resolv.conf: no resolvers configured\n"
  const kept: Array<string> = []
  const skipped: Array<string> = []
  let servers = 0
  for (const raw of host.split("\n")) {
    const line = raw.trim()
    const [key, ...rest] = line.split(/\s+/)
    if (key === "nameserver" && rest[0] !== undefined) {
      if (isLoopback(rest[0])) skipped.push(rest[0])
      else {
        kept.push(`nameserver ${rest[0]}`)
        servers++
      }
    } else if (key === "search" || key === "domain" || key === "options") {
      kept.push(line)
    }
  }
  const head = servers === 0
    ? [
      skipped.length > 0
        ? `# the host's resolvers (${skipped.join(", ")}) are on its loopback, unreachable from a replica: none configured`
        : "# the host lists no resolvers: none configured"
    ]
    : []
  return [...head, ...kept].join("\n") + "\n"
}

/** Default contents: localhost entries and the replica's own name (on `address`, else 127.0.1.1). */
export const generateEtcFiles = (options: {
  readonly hostname: string
  readonly address?: string
  readonly hostResolvConf: string | null
}): EtcFiles => ({
  hosts: [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    `${options.address ?? "127.0.1.1"}\t${options.hostname}`,
    ""
  ].join("\n"),
  hostname: `${options.hostname}\n`,
  resolvConf: resolvConfFromHost(options.hostResolvConf)
})

/** Read a small regular host file (no symlink at the leaf, size-capped); null when missing or unusable. */
export const readSmallFile = (p: string, maxBytes = MAX_HOST_FILE_BYTES): string | null => {
  let fd: number
  try {
    fd = fsSync.openSync(p, fsSync.constants.O_RDONLY | fsSync.constants.O_NOFOLLOW | fsSync.constants.O_NONBLOCK)
  } catch {
    return null
  }
  try {
    if (!fsSync.fstatSync(fd).isFile()) return null
    const buf = Buffer.alloc(maxBytes)
    let len = 0
    while (len < maxBytes) {
      const n = fsSync.readSync(fd, buf, len, maxBytes - len, null)
      if (n === 0) break
      len += n
    }
    return buf.subarray(0, len).toString("utf8")
  } catch {
    return null
  } finally {
    fsSync.closeSync(fd)
  }
}

/** Write the three files into `dir` (created, 0755) and return their paths. */
export const writeEtcFiles = (dir: string, files: EtcFiles): Effect.Effect<EtcFilePaths, RuntimeIoError> =>
  Effect.try({
    try: () => {
      fsSync.mkdirSync(dir, { mode: 0o755 })
      const paths: EtcFilePaths = {
        hosts: path.join(dir, "hosts"),
        hostname: path.join(dir, "hostname"),
        resolvConf: path.join(dir, "resolv.conf")
      }
      fsSync.writeFileSync(paths.hosts, files.hosts, { mode: 0o644, flag: "wx" })
      fsSync.writeFileSync(paths.hostname, files.hostname, { mode: 0o644, flag: "wx" })
      fsSync.writeFileSync(paths.resolvConf, files.resolvConf, { mode: 0o644, flag: "wx" })
      return paths
    },
    catch: (e) => new RuntimeIoError({ op: "write", path: dir, message: errorMessage(e), cause: e })
  })
