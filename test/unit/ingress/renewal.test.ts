import { describe, expect, it } from "vitest"
import { backoffMs, certificateDue, RENEW_BEFORE_MS } from "../../../src/ingress/renewal.js"

const DAY = 24 * 3600 * 1000
const now = Date.UTC(2026, 0, 1)

describe("certificate renewal", () => {
  it("orders a missing certificate and renews within 30 days of expiry", () => {
    expect(certificateDue(undefined, undefined, now)).toBe(true)
    expect(certificateDue(new Date(now + 60 * DAY), undefined, now)).toBe(false)
    expect(certificateDue(new Date(now + RENEW_BEFORE_MS + 1000), undefined, now)).toBe(false)
    expect(certificateDue(new Date(now + 29 * DAY), undefined, now)).toBe(true)
    expect(certificateDue(new Date(now - DAY), undefined, now)).toBe(true)
  })

  it("backs off after failures: 1 min doubling, capped at a day", () => {
    expect([1, 2, 3, 4].map(backoffMs)).toEqual([60_000, 120_000, 240_000, 480_000])
    expect(backoffMs(50)).toBe(DAY)
    const failure = { at: now, attempts: 2 }
    expect(certificateDue(undefined, failure, now + 119_000)).toBe(false)
    expect(certificateDue(undefined, failure, now + 120_000)).toBe(true)
    // a valid certificate is never re-ordered early, failures or not
    expect(certificateDue(new Date(now + 90 * DAY), { at: 0, attempts: 1 }, now)).toBe(false)
  })
})
