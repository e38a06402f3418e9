/**
 * SSH host keys pinned on first use: the known_hosts lines ssh wrote for a
 * host on the first connection are stored with the service and written back
 * (with `StrictHostKeyChecking=yes`) on every later one; their SHA-256
 * fingerprints are what the API and console show.
 */
import { createHash } from "node:crypto"

export interface PinnedHostKey {
  /** known_hosts lines (`name keytype base64`), unhashed. */
  readonly knownHosts: string
  /** `SHA256:…` fingerprints of the keys, like `ssh-keygen -lf` prints them. */
  readonly fingerprints: ReadonlyArray<string>
}

/** Lines of a known_hosts text that are key entries (no comments, no markers). */
const entries = (text: string) => text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith("@"))

export const fingerprintOf = (line: string): string | undefined => {
  const blob = line.split(/\s+/)[2]
  if (blob === undefined || !/^[A-Za-z0-9+/]+=*$/.test(blob)) return undefined
  return `SHA256:${createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "")}`
}

/** The pin ssh's known_hosts file holds after a first connection; undefined when it holds no key. */
export const pinFromKnownHosts = (text: string): PinnedHostKey | undefined => {
  const lines = entries(text)
  const fingerprints = lines.map(fingerprintOf).filter((f): f is string => f !== undefined)
  if (fingerprints.length === 0) return undefined
  return { knownHosts: lines.join("\n") + "\n", fingerprints }
}
