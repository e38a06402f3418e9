import { Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { parseResolvConf, parseUpstream, readHostResolvers } from "../../../../src/network/dns/upstreams.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-dns-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("parseUpstream", () => {
  it("accepts ip, ip:port, bare IPv6, [IPv6]:port and scoped IPv6", () => {
    expect(parseUpstream("1.1.1.1")).toEqual({ host: "1.1.1.1", port: 53, family: 4 })
    expect(parseUpstream("127.0.0.53:5353")).toEqual({ host: "127.0.0.53", port: 5353, family: 4 })
    expect(parseUpstream("::1")).toEqual({ host: "::1", port: 53, family: 6 })
    expect(parseUpstream("[2001:db8::1]:5300")).toEqual({ host: "2001:db8::1", port: 5300, family: 6 })
    expect(parseUpstream("fe80::1%eth0")).toEqual({ host: "fe80::1%eth0", port: 53, family: 6 })
  })
  it("rejects names, bad ports and junk", () => {
    for (const bad of ["dns.example", "1.1.1.1:0", "1.1.1.1:70000", "1.1.1.1:", "[::1]:x", "[1.2.3.4]:53", "", "1.2.3"]) {
      expect(parseUpstream(bad), bad).toBeNull()
    }
  })
})

describe("resolv.conf", () => {
  it("reads nameserver lines in order, skipping comments and invalid entries", () => {
    const text =
      "# generated\nsearch example.com\nnameserver 127.0.0.53\nnameserver  ::1 # v6\n;nameserver 9.9.9.9\nnameserver bogus\noptions edns0\nnameserver 10.0.0.2\n"
    expect(parseResolvConf(text)).toEqual(["127.0.0.53", "::1", "10.0.0.2"])
  })
  it("reads a file, gives [] for a missing one and a DnsConfigError for an unreadable one", async () => {
    const file = path.join(dir, "resolv.conf")
    fs.writeFileSync(file, "nameserver 192.0.2.53\n")
    expect(await Effect.runPromise(readHostResolvers(file))).toEqual(["192.0.2.53"])
    expect(await Effect.runPromise(readHostResolvers(path.join(dir, "missing")))).toEqual([])
    const exit = await Effect.runPromiseExit(readHostResolvers(dir))
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("resolv_conf: cannot read")
  })
})
