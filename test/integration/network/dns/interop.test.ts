/**
 * An independent client against the server: Node's c-ares resolver
 * (`dns.promises.Resolver`) pointed at 127.0.0.1. It must read our answers,
 * NXDOMAIN and TTLs, fall back to TCP by itself on a truncated UDP answer,
 * and get forwarded names through a fake loopback upstream.
 */
import { Effect } from "effect"
import * as dns from "node:dns"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FakeUpstream, fakeUpstream, start, type Started, upstreamAnswer } from "./helpers.js"

const many = Array.from({ length: 40 }, (_, i) => `10.89.4.${i + 1}`)
let upstream: FakeUpstream
let s: Started
let resolver: dns.promises.Resolver

beforeAll(async () => {
  upstream = await fakeUpstream((q) => [upstreamAnswer(q, ["192.0.2.44"])])
  s = await start({
    resolve: (fqdn) => Effect.succeed(fqdn === "web.shop.internal" ? ["10.89.0.5"] : fqdn === "big.shop.internal" ? many : null),
    upstreams: [`127.0.0.1:${upstream.port}`],
    ttlSeconds: 3
  })
  resolver = new dns.promises.Resolver({ timeout: 2000, tries: 2 })
  resolver.setServers([`127.0.0.1:${s.server.port}`])
})
afterAll(async () => {
  await s.close()
  await upstream.close()
})

describe("c-ares against the server", () => {
  it("resolves a zone name with its TTL", async () => {
    expect(await resolver.resolve4("Web.Shop.Internal", { ttl: true })).toEqual([{ address: "10.89.0.5", ttl: 3 }])
  })

  it("reports NXDOMAIN as ENOTFOUND and no AAAA data as ENODATA", async () => {
    await expect(resolver.resolve4("nope.shop.internal")).rejects.toMatchObject({ code: "ENOTFOUND" })
    await expect(resolver.resolve6("web.shop.internal")).rejects.toMatchObject({ code: "ENODATA" })
  })

  it("retries a truncated answer over TCP and gets every address", async () => {
    const before = s.server.stats().truncated
    expect((await resolver.resolve4("big.shop.internal")).sort()).toEqual([...many].sort())
    expect(s.server.stats().truncated).toBeGreaterThan(before)
  })

  it("resolves a forwarded name", async () => {
    expect(await resolver.resolve4("service.example")).toEqual(["192.0.2.44"])
  })
})
