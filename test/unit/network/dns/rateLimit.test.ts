import { describe, expect, it } from "vitest"
import { RateLimiter } from "../../../../src/network/dns/rateLimit.js"

describe("RateLimiter", () => {
  it("allows a burst, then refills at the configured rate, per source", () => {
    let now = 0
    const limiter = new RateLimiter({ perSecond: 10, burst: 3 }, () => now)
    expect([1, 2, 3, 4].map(() => limiter.take("a"))).toEqual([true, true, true, false])
    expect(limiter.take("b")).toBe(true)
    now = 100 // one token back for "a"
    expect([limiter.take("a"), limiter.take("a")]).toEqual([true, false])
    now = 10_000 // refilled, but never beyond the burst
    expect([1, 2, 3, 4].map(() => limiter.take("a"))).toEqual([true, true, true, false])
  })

  it("keeps its table bounded, dropping idle sources first", () => {
    let now = 0
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxSources: 10 }, () => now)
    for (let i = 0; i < 10; i++) limiter.take(`idle-${i}`)
    now = 5000
    limiter.take("busy")
    expect(limiter.size).toBe(1)
    for (let i = 0; i < 100; i++) limiter.take(`new-${i}`)
    expect(limiter.size).toBeLessThanOrEqual(10)
    // A source that was evicted starts again with a full bucket; one that is still tracked does not.
    expect(limiter.take("new-99")).toBe(false)
  })
})
