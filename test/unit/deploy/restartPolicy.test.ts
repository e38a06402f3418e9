import { describe, expect, it } from "vitest"
import { DEFAULT_RESTART_POLICY, formatDuration, nextCrashCount, restartDelayMs } from "../../../src/deploy/restartPolicy.js"

describe("crash restart backoff", () => {
  const p = DEFAULT_RESTART_POLICY

  it("doubles from 1 s and caps at 5 min", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => restartDelayMs(p, n))).toEqual([
      1_000,
      2_000,
      4_000,
      8_000,
      16_000,
      32_000,
      64_000,
      128_000,
      256_000,
      300_000
    ])
    expect(restartDelayMs(p, 500)).toBe(300_000)
  })

  it("counts consecutive crashes and starts over after 10 min up", () => {
    expect(nextCrashCount(p, 0, 10)).toBe(1)
    expect(nextCrashCount(p, 4, 60_000)).toBe(5)
    expect(nextCrashCount(p, 9, 10 * 60_000 - 1)).toBe(10)
    expect(nextCrashCount(p, 9, 10 * 60_000)).toBe(1)
  })

  it("honours an overridden base and cap", () => {
    const fast = { baseMs: 100, capMs: 400, resetAfterMs: 1_000 }
    expect([1, 2, 3, 4].map((n) => restartDelayMs(fast, n))).toEqual([100, 200, 400, 400])
  })

  it("formats durations for messages", () => {
    expect(formatDuration(10)).toBe("10 ms")
    expect(formatDuration(4_000)).toBe("4 s")
    expect(formatDuration(300_000)).toBe("5 min")
    expect(formatDuration(150_000)).toBe("2 min 30 s")
  })
})
