import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { checkHost, classifyAddress, isAllowListed } from "../../../src/oci/ssrf.js"

describe("classifyAddress", () => {
  it("refuses internal IPv4 ranges", () => {
    const cases: Array<[string, string]> = [
      ["127.0.0.1", "loopback"],
      ["127.255.1.2", "loopback"],
      ["10.1.2.3", "private"],
      ["172.16.0.1", "private"],
      ["172.31.255.255", "private"],
      ["192.168.1.1", "private"],
      ["169.254.169.254", "link-local"],
      ["100.64.0.1", "CGNAT"],
      ["100.127.255.254", "CGNAT"],
      ["0.0.0.0", "unspecified"],
      ["224.0.0.1", "multicast"],
      ["239.255.255.250", "multicast"],
      ["255.255.255.255", "reserved"]
    ]
    for (const [ip, reason] of cases) expect(classifyAddress(ip), ip).toBe(reason)
  })

  it("refuses internal IPv6 ranges and IPv4-mapped internal addresses", () => {
    const cases: Array<[string, string]> = [
      ["::1", "loopback"],
      ["::", "unspecified"],
      ["fc00::1", "unique-local"],
      ["fd12:3456::1", "unique-local"],
      ["fe80::1", "link-local"],
      ["fe80::1%eth0", "link-local"],
      ["ff02::1", "multicast"],
      ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
      ["::ffff:7f00:1", "IPv4-mapped loopback"],
      ["::ffff:10.0.0.1", "IPv4-mapped private"],
      ["::ffff:169.254.169.254", "IPv4-mapped link-local"],
      ["64:ff9b::a9fe:a9fe", "IPv4-mapped link-local"],
      ["::127.0.0.1", "IPv4-mapped loopback"]
    ]
    for (const [ip, reason] of cases) expect(classifyAddress(ip), ip).toBe(reason)
  })

  it("accepts public addresses", () => {
    for (const ip of ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "192.0.2.1"]) {
      expect(classifyAddress(ip), ip).toBeUndefined()
    }
  })
})

describe("allow-list", () => {
  const policy = { allowed: ["127.0.0.1:5000", "registry.lan", "[::1]:5001"] }
  it("matches host:port exactly, or a bare host on any port", () => {
    expect(isAllowListed(policy, "127.0.0.1", 5000)).toBe(true)
    expect(isAllowListed(policy, "127.0.0.1", 6379)).toBe(false)
    expect(isAllowListed(policy, "REGISTRY.lan", 443)).toBe(true)
    expect(isAllowListed(policy, "::1", 5001)).toBe(true)
    expect(isAllowListed(policy, "[::1]", 5001)).toBe(true)
  })

  it("checkHost refuses loopback, private and names resolving to them unless allow-listed", async () => {
    const run = (host: string, port: number, allowed: Array<string> = []) => Effect.runPromiseExit(checkHost({ allowed }, host, port))
    for (
      const [host, port] of [
        ["127.0.0.1", 443],
        ["localhost", 443],
        ["10.0.0.8", 443],
        ["169.254.169.254", 80],
        ["[::1]", 443],
        ["::ffff:127.0.0.1", 443],
        ["0.0.0.0", 5000]
      ] as const
    ) {
      const exit = await run(host, port)
      expect(Exit.isFailure(exit), host).toBe(true)
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") expect(exit.cause.error._tag).toBe("denia/oci/SsrfRefused")
    }
    expect(Exit.isSuccess(await run("127.0.0.1", 5000, ["127.0.0.1:5000"]))).toBe(true)
    expect(Exit.isSuccess(await run("localhost", 5000, ["localhost:5000"]))).toBe(true)
    expect(Exit.isFailure(await run("127.0.0.1", 5001, ["127.0.0.1:5000"]))).toBe(true)
    expect(Exit.isSuccess(await run("8.8.8.8", 443))).toBe(true)
  })
})

describe("unresolvable hosts", () => {
  it("are RegistryUnreachable, not SSRF refusals", async () => {
    const exit = await Effect.runPromiseExit(checkHost({ allowed: [] }, "no-such-host.invalid", 443))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit) && exit.cause._tag === "Fail") expect(exit.cause.error._tag).toBe("denia/oci/RegistryUnreachable")
  })
})
