import { HttpServerRequest } from "@effect/platform"
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { clientIp, compileTrust } from "../../../src/auth/clientIp.js"
import { INGRESS_HOP_HEADER, ingressHopSecret } from "../../../src/auth/ingressHop.js"
import { ipOrCidrProblem } from "../../../src/config/fields.js"
import { decodeConfig } from "../../../src/config/load.js"

const request = (peer: string, headers: Record<string, string> = {}) =>
  HttpServerRequest.fromWeb(new Request("http://x/v1", { headers })).modify({ remoteAddress: peer })

const none = compileTrust([])

describe("clientIp", () => {
  it("is the socket peer by default, loopback included, whatever X-Forwarded-For says", () => {
    expect(clientIp(request("192.0.2.10", { "x-forwarded-for": "203.0.113.1" }), none)).toBe("192.0.2.10")
    expect(clientIp(request("::ffff:192.0.2.10"), none)).toBe("192.0.2.10")
    expect(clientIp(request("127.0.0.1", { "x-forwarded-for": "203.0.113.1" }), none)).toBe("127.0.0.1")
    expect(clientIp(request("::1", { "x-forwarded-for": "203.0.113.1" }), none)).toBe("::1")
  })

  it("believes the ingress hop (per-boot secret) and nobody who merely guesses it", () => {
    const hop = { [INGRESS_HOP_HEADER]: ingressHopSecret() }
    expect(clientIp(request("127.0.0.1", { ...hop, "x-forwarded-for": "203.0.113.1" }), none)).toBe("203.0.113.1")
    expect(clientIp(request("127.0.0.1", { ...hop, "x-forwarded-for": "not-an-ip" }), none)).toBe("127.0.0.1")
    expect(clientIp(request("127.0.0.1", { [INGRESS_HOP_HEADER]: "guess", "x-forwarded-for": "203.0.113.1" }), none)).toBe("127.0.0.1")
    expect(clientIp(request("127.0.0.1", { [INGRESS_HOP_HEADER]: "", "x-forwarded-for": "203.0.113.1" }), none)).toBe("127.0.0.1")
  })

  it("walks X-Forwarded-For from a trusted proxy, skipping trusted hops", () => {
    const trust = compileTrust(["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"])
    expect(clientIp(request("127.0.0.1", { "x-forwarded-for": "203.0.113.1" }), trust)).toBe("203.0.113.1")
    expect(clientIp(request("::ffff:127.0.0.1", { "x-forwarded-for": "198.51.100.7, 203.0.113.1, 10.1.2.3" }), trust)).toBe("203.0.113.1")
    expect(clientIp(request("2001:db8::1", { "x-forwarded-for": "198.51.100.7" }), trust)).toBe("198.51.100.7")
    expect(clientIp(request("127.0.0.1", { "x-forwarded-for": "bogus, 10.1.2.3" }), trust)).toBe("10.1.2.3")
    expect(clientIp(request("127.0.0.1"), trust)).toBe("127.0.0.1")
    expect(clientIp(request("127.0.0.2", { "x-forwarded-for": "203.0.113.1" }), trust)).toBe("127.0.0.2")
  })

  it("validates trusted_proxies entries", () => {
    for (const ok of ["127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32", "0.0.0.0/0"]) expect(ipOrCidrProblem(ok)).toBeUndefined()
    for (const bad of ["", "localhost", "10.0.0.0/33", "::/129", "10.0.0.0/x", "1.2.3.4/8/9", "10.0.0.0/"]) {
      expect(ipOrCidrProblem(bad)).toBeDefined()
    }
  })
})

describe("trusted_proxies / domain_claim_ttl_hours config keys", () => {
  const decode = (table: Record<string, unknown>, env: Record<string, string> = {}) =>
    Effect.runSync(Effect.either(decodeConfig({ admin_token: "a".repeat(64), ...table }, env, "config.toml")))

  it("default to no trusted proxy and 72 hours", () => {
    const r = decode({})
    expect(Either.isRight(r) && r.right.trustedProxies).toEqual([])
    expect(Either.isRight(r) && r.right.domainClaimTtlHours).toBe(72)
  })

  it("accept IPs/CIDRs from the file and the environment, refuse anything else naming the key", () => {
    const file = decode({ trusted_proxies: ["10.0.0.0/8", "::1"] })
    expect(Either.isRight(file) && file.right.trustedProxies).toEqual(["10.0.0.0/8", "::1"])
    const env = decode({}, { DENIA_TRUSTED_PROXIES: "192.0.2.1, 198.51.100.0/24" })
    expect(Either.isRight(env) && env.right.trustedProxies).toEqual(["192.0.2.1", "198.51.100.0/24"])
    const bad = decode({ trusted_proxies: ["proxy.internal"] })
    expect(Either.isLeft(bad) && bad.left.key).toBe("trusted_proxies")
    const ttl = decode({ domain_claim_ttl_hours: 0 })
    expect(Either.isLeft(ttl) && ttl.left.key).toBe("domain_claim_ttl_hours")
  })
})
