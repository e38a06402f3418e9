import { HttpServerRequest } from "@effect/platform"
import { describe, expect, it } from "vitest"
import { clientIp } from "../../../src/auth/clientIp.js"

const request = (peer: string, forwarded?: string) =>
  HttpServerRequest.fromWeb(new Request("http://x/v1", forwarded === undefined ? {} : { headers: { "x-forwarded-for": forwarded } })).modify({
    remoteAddress: peer
  })

describe("clientIp", () => {
  it("is the socket peer for non-loopback peers, whatever X-Forwarded-For says", () => {
    expect(clientIp(request("192.0.2.10", "203.0.113.1"))).toBe("192.0.2.10")
    expect(clientIp(request("::ffff:192.0.2.10"))).toBe("192.0.2.10")
  })
  it("honours the last X-Forwarded-For hop from a loopback peer (the ingress)", () => {
    expect(clientIp(request("127.0.0.1", "203.0.113.1"))).toBe("203.0.113.1")
    expect(clientIp(request("::1", "198.51.100.2, 203.0.113.1"))).toBe("203.0.113.1")
    expect(clientIp(request("127.0.0.1"))).toBe("127.0.0.1")
    expect(clientIp(request("127.0.0.1", "not-an-ip"))).toBe("127.0.0.1")
  })
})
