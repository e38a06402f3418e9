import { describe, expect, it } from "vitest"
import { replicaEtcFiles } from "../../../src/network/etcFiles.js"
import { buildNameTable, lookupName } from "../../../src/network/nameTable.js"

describe("service names", () => {
  const table = buildNameTable([
    { serviceName: "db", projectName: "shop", addresses: ["10.89.0.3", "10.89.0.2"] },
    { serviceName: "idle", projectName: "shop", addresses: [] }
  ])

  it("answers <service>.<project>.internal with the healthy addresses, case-insensitively, trailing dot or not", () => {
    expect(lookupName(table, "db.shop.internal")).toEqual(["10.89.0.2", "10.89.0.3"])
    expect(lookupName(table, "DB.Shop.Internal.")).toEqual(["10.89.0.2", "10.89.0.3"])
    expect(lookupName(table, "idle.shop.internal")).toEqual([])
  })

  it("is NXDOMAIN for unknown .internal names and forwards everything else", () => {
    expect(lookupName(table, "db.other.internal")).toBe("nxdomain")
    expect(lookupName(table, "internal")).toBe("nxdomain")
    expect(lookupName(table, "example.org")).toBe("forward")
    expect(lookupName(table, "db.shop.internal.example.org")).toBe("forward")
  })

  it("writes resolv.conf with the bridge as nameserver and the project's search domain, hosts with the own address", () => {
    const f = replicaEtcFiles({
      hostname: "web-r1",
      address: "10.89.0.9",
      nameserver: "10.89.0.1",
      serviceName: "web",
      projectName: "shop"
    })
    expect(f.resolvConf).toBe("nameserver 10.89.0.1\nsearch shop.internal\noptions ndots:1\n")
    expect(f.hosts).toContain("10.89.0.9\tweb-r1 web.shop.internal\n")
    expect(f.hosts).toContain("127.0.0.1\tlocalhost\n")
    expect(f.hostname).toBe("web-r1\n")
  })
})
