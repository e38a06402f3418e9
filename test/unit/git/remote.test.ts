/** Git source URLs: transports, credential-free, and the host names credentials and host keys belong to. */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { credentialFromSecret, pinsHost } from "../../../src/builder/git/GitSources.js"
import { parseGitRemote } from "../../../src/builder/git/remote.js"

describe("parseGitRemote", () => {
  it("reads https, ssh:// and scp-like URLs", () => {
    expect(parseGitRemote("https://Git.Example:8443/a/b.git")).toEqual(
      Either.right({
        transport: "https",
        host: "git.example",
        port: 8443,
        url: "https://Git.Example:8443/a/b.git",
        origin: "https://git.example:8443",
        knownHostsName: "[git.example]:8443"
      })
    )
    expect(parseGitRemote("ssh://git@host:2222/x.git")).toMatchObject({ right: { transport: "ssh", knownHostsName: "[host]:2222" } })
    expect(parseGitRemote("git@github.com:o/r.git")).toMatchObject({
      right: { transport: "ssh", host: "github.com", knownHostsName: "github.com" }
    })
  })

  it("refuses credentials in the URL, other protocols and option look-alikes", () => {
    expect(Either.isLeft(parseGitRemote("https://user:tok@host/r.git"))).toBe(true)
    expect(Either.isLeft(parseGitRemote("https://tok@host/r.git"))).toBe(true)
    expect(Either.isLeft(parseGitRemote("http://host/r.git"))).toBe(true)
    expect(Either.isLeft(parseGitRemote("file:///etc"))).toBe(true)
    expect(Either.isLeft(parseGitRemote("ext::sh -c touch% /tmp/x"))).toBe(true)
    expect(Either.isLeft(parseGitRemote("git@host:-oProxyCommand=x"))).toBe(true)
  })
})

describe("credentialFromSecret", () => {
  it("a private key is an SSH credential, user:token and bare tokens are HTTPS credentials", () => {
    expect(credentialFromSecret("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n")).toMatchObject({
      right: { kind: "ssh" }
    })
    expect(credentialFromSecret("oauth2:glpat-123")).toEqual(Either.right({ kind: "https", username: "oauth2", password: "glpat-123" }))
    expect(credentialFromSecret("ghp_abc")).toEqual(Either.right({ kind: "https", username: "x-access-token", password: "ghp_abc" }))
    expect(Either.isLeft(credentialFromSecret("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----"))).toBe(true)
    expect(Either.isLeft(credentialFromSecret("two\nlines"))).toBe(true)
  })
})

describe("pinsHost", () => {
  it("a pin counts only for the host (and port) it was made with", () => {
    const pin = "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\n"
    const remote = (url: string) => Either.getOrThrow(parseGitRemote(url))
    expect(pinsHost(pin, remote("ssh://git@127.0.0.1:2222/r.git"))).toBe(true)
    expect(pinsHost(pin, remote("ssh://git@127.0.0.1:2223/r.git"))).toBe(false)
    expect(pinsHost("github.com,140.82.1.1 ssh-ed25519 AAAA\n", remote("git@github.com:o/r.git"))).toBe(true)
    expect(pinsHost("github.com ssh-ed25519 AAAA\n", remote("git@gitlab.com:o/r.git"))).toBe(false)
  })
})
