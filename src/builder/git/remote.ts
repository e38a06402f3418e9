/**
 * What a Git source URL names: the transport (HTTPS or SSH), the host the
 * credentials and the pinned host key belong to, and the URL handed to git.
 * The URL never carries credentials: a `user:password@` in an HTTPS URL is
 * refused, so a token can only come from the service's secret.
 */
import { Either } from "effect"

export interface GitRemote {
  readonly transport: "https" | "ssh"
  /** Host name (lower-case, no brackets). */
  readonly host: string
  readonly port: number | undefined
  /** What git is given (the source URL as written). */
  readonly url: string
  /** `https://host[:port]`: the origin git names when it asks for credentials. */
  readonly origin: string
  /** How the host appears in a known_hosts file: `host` or `[host]:port`. */
  readonly knownHostsName: string
}

const SCP_LIKE = /^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):([^\s]+)$/

const knownHostsName = (host: string, port: number | undefined) => (port === undefined || port === 22 ? host : `[${host}]:${port}`)

/** Parses a Git source URL (`https://…`, `ssh://…`, `user@host:path`); Left with a reason otherwise. */
export const parseGitRemote = (url: string): Either.Either<GitRemote, string> => {
  if (/[\u0000-\u001f\u007f\s]/.test(url)) return Either.left("must not contain whitespace or control characters")
  const scp = SCP_LIKE.exec(url)
  if (scp !== null) {
    const host = (scp[2] ?? "").toLowerCase()
    if ((scp[3] ?? "").startsWith("-")) return Either.left("path must not start with '-'")
    return Either.right({ transport: "ssh", host, port: undefined, url, origin: `ssh://${host}`, knownHostsName: host })
  }
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return Either.left("must be an https:// or ssh:// URL (or user@host:path)")
  }
  if (u.protocol !== "https:" && u.protocol !== "ssh:") return Either.left("must use https:// or ssh:// (or user@host:path)")
  if (u.hostname === "" || u.hostname.startsWith("-")) return Either.left("must name a host")
  if (u.password !== "") return Either.left("must not carry a password or token; put it in a service secret and name it in credentialRef")
  if (u.protocol === "https:" && u.username !== "") return Either.left("must not carry a user name; put the credential in a service secret")
  const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase()
  const port = u.port === "" ? undefined : Number(u.port)
  return Either.right({
    transport: u.protocol === "https:" ? "https" : "ssh",
    host,
    port,
    url,
    origin: `${u.protocol}//${u.host.toLowerCase()}`,
    knownHostsName: knownHostsName(host, port)
  })
}
