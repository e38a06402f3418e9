import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { FAST_PROBE_WINDOW_MS, type Probe, probeDelayMs, waitHealthy } from "../../../src/deploy/healthCheck.js"

describe("health gate probe cadence", () => {
  it("doubles from 10 ms, stays at most 100 ms apart in the fast window, then once a second", () => {
    expect([1, 2, 3, 4, 5, 6, 20].map((a) => probeDelayMs(a, 500))).toEqual([10, 20, 40, 80, 100, 100, 100])
    expect(probeDelayMs(60, FAST_PROBE_WINDOW_MS - 1)).toBe(100)
    expect(probeDelayMs(61, FAST_PROBE_WINDOW_MS)).toBe(1000)
    expect(probeDelayMs(200, 60_000)).toBe(1000)
  })

  it("passes on the first good probe and reports every failed attempt", async () => {
    const seen: Array<number> = []
    let calls = 0
    const probe = (): Effect.Effect<Probe> =>
      Effect.sync(() => (++calls < 4 ? { ok: false, reason: "not yet" } : { ok: true, status: 204 }))
    const result = await Effect.runPromise(waitHealthy(probe, 30_000, (attempt) => Effect.sync(() => seen.push(attempt))))
    expect(result).toEqual({ healthy: true, status: 204 })
    expect(seen).toEqual([1, 2, 3])
  })
})
