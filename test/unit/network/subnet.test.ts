import { describe, expect, it } from "vitest"
import { bridgeAddress, contains, firstFree, parseIpv4, parseSubnet, subnetCidr, subnetProblem } from "../../../src/domain/subnet.js"

describe("replica subnet", () => {
  it("parses dotted quads and refuses anything else", () => {
    expect(parseIpv4("10.89.0.1")).toBe(0x0a590001)
    for (const bad of ["10.89.0", "10.89.0.256", "10.89.00.1", "a.b.c.d", "10.89.0.1.2", ""]) expect(parseIpv4(bad)).toBeUndefined()
  })

  it("accepts private network addresses only", () => {
    expect(subnetProblem("10.89.0.0/16")).toBeUndefined()
    expect(subnetProblem("172.20.0.0/24")).toBeUndefined()
    expect(subnetProblem("192.168.7.0/24")).toBeUndefined()
    expect(subnetProblem("10.89.0.1/16")).toMatch(/host bits/)
    expect(subnetProblem("8.8.8.0/24")).toMatch(/private range/)
    expect(subnetProblem("172.32.0.0/16")).toMatch(/private range/)
    expect(subnetProblem("10.0.0.0/7")).toMatch(/8 <= n <= 29/)
    expect(subnetProblem("10.0.0.0/30")).toMatch(/8 <= n <= 29/)
    expect(subnetProblem("10.0.0.0")).toMatch(/a\.b\.c\.d\/n/)
  })

  it("gives the bridge the first address and replicas the next free ones, never the broadcast address", () => {
    const s = parseSubnet("10.7.3.0/29")
    expect(s).toBeDefined()
    if (s === undefined) return
    expect(subnetCidr(s)).toBe("10.7.3.0/29")
    expect(bridgeAddress(s)).toBe("10.7.3.1")
    expect(firstFree(s, new Set())).toBe("10.7.3.2")
    expect(firstFree(s, new Set(["10.7.3.2", "10.7.3.4"]))).toBe("10.7.3.3")
    const all = new Set(["10.7.3.2", "10.7.3.3", "10.7.3.4", "10.7.3.5", "10.7.3.6"])
    expect(firstFree(s, all)).toBeUndefined()
    expect(contains(s, "10.7.3.7")).toBe(true)
    expect(contains(s, "10.7.3.8")).toBe(false)
  })
})
