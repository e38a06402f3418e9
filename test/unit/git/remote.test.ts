/** Git source URLs: transports, credential-free, and the host names credentials and host keys belong to. */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { credentialFromSecret } from "../../../src/builder/git/GitSources.js"
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
