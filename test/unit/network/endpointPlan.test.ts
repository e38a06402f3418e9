import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { type Allocation, planEndpoints } from "../../../src/network/endpointPlan.js"

const ranges = { tcp: { low: 30000, high: 30002 }, udp: { low: 31000, high: 31000 } }

const plan = (
  serviceId: string,
  endpoints: Parameters<typeof planEndpoints>[0]["endpoints"],
  allocations: ReadonlyArray<Allocation> = []
) => planEndpoints({ serviceId, endpoints, allocations, ranges })

describe("endpoint public ports", () => {
  it("allocates the lowest free port of the protocol's range", () => {
    const r = plan("s1", [{ protocol: "tcp", port: 6379 }, { protocol: "udp", port: 53 }], [
      { protocol: "tcp", publicPort: 30000, serviceId: "s2", port: 80 }
    ])
    expect(r).toEqual(Either.right([{ protocol: "tcp", port: 6379, publicPort: 30001 }, { protocol: "udp", port: 53, publicPort: 31000 }]))
  })

  it("keeps the port an endpoint already has", () => {
    const mine: Array<Allocation> = [{ protocol: "tcp", publicPort: 30002, serviceId: "s1", port: 6379 }]
    expect(plan("s1", [{ protocol: "tcp", port: 6379 }], mine)).toEqual(Either.right([{ protocol: "tcp", port: 6379, publicPort: 30002 }]))
  })

  it("takes a requested port that is free, and never hands it to an automatic pick of the same request", () => {
    const r = plan("s1", [{ protocol: "tcp", port: 1 }, { protocol: "tcp", port: 2, publicPort: 30000 }])
    expect(r).toEqual(Either.right([{ protocol: "tcp", port: 1, publicPort: 30001 }, { protocol: "tcp", port: 2, publicPort: 30000 }]))
  })

  it("refuses a requested port outside the range (Invalid on endpoints[i].publicPort)", () => {
    const r = plan("s1", [{ protocol: "tcp", port: 1 }, { protocol: "udp", port: 2, publicPort: 31001 }])
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isLeft(r)) {
      expect(r.left._tag).toBe("denia/domain/Invalid")
      expect(r.left.message).toMatch(/^must be within udp_port_range 31000-31000/)
      expect(r.left._tag === "denia/domain/Invalid" && r.left.field).toBe("endpoints[1].publicPort")
    }
  })

  it("refuses a port another service holds (Conflict), and the same port twice in one request", () => {
    const other: Array<Allocation> = [{ protocol: "tcp", publicPort: 30001, serviceId: "s2", port: 80 }]
    const taken = plan("s1", [{ protocol: "tcp", port: 1, publicPort: 30001 }], other)
    expect(Either.isLeft(taken) && taken.left._tag).toBe("denia/domain/Conflict")
    const twice = plan("s1", [{ protocol: "tcp", port: 1, publicPort: 30000 }, { protocol: "tcp", port: 2, publicPort: 30000 }])
    expect(Either.isLeft(twice) && twice.left.message).toMatch(/^endpoints\[1\]\.publicPort/)
    // the same number on the other protocol is a different port
    expect(Either.isRight(plan("s1", [{ protocol: "udp", port: 1, publicPort: 31000 }], [
      { protocol: "tcp", publicPort: 31000, serviceId: "s2", port: 1 }
    ]))).toBe(true)
  })

  it("fails when the range is full", () => {
    const full: Array<Allocation> = [{ protocol: "udp", publicPort: 31000, serviceId: "s2", port: 1 }]
    const r = plan("s1", [{ protocol: "udp", port: 5 }], full)
    expect(Either.isLeft(r) && r.left.message).toMatch(/no free udp port/)
  })
})
