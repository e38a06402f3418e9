/** Image STOPSIGNAL parsing and image VOLUMEs without a service volume. */
import { describe, expect, it } from "vitest"
import { parseStopSignal, unbackedImageVolumes } from "../../../src/deploy/imageConventions.js"

describe("image STOPSIGNAL", () => {
  it("accepts SIGQUIT, QUIT, lower case and the number alike", () => {
    for (const form of ["SIGQUIT", "QUIT", "sigquit", "3", " SIGQUIT "]) expect(parseStopSignal(form)).toEqual({ ok: true, signal: 3 })
    expect(parseStopSignal("SIGWINCH")).toEqual({ ok: true, signal: 28 })
    expect(parseStopSignal("SIGRTMIN+3")).toEqual({ ok: true, signal: 37 })
  })

  it("missing or empty is SIGTERM without a warning", () => {
    expect(parseStopSignal(undefined)).toEqual({ ok: true, signal: 15 })
    expect(parseStopSignal("")).toEqual({ ok: true, signal: 15 })
  })

  it("anything else is a warning (the caller stops with SIGTERM)", () => {
    for (const bad of ["SIGFROB", "0", "65", "99", "-9", "SIG", "9x"]) {
      const r = parseStopSignal(bad)
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.warning).toMatch(/is not a signal this node knows; stopping with SIGTERM$/)
    }
  })
})

describe("unbacked image volumes", () => {
  it("lists each declared path no service volume covers, normalised and once", () => {
    expect(unbackedImageVolumes(["/data", "/var/log/app/", "/data", "//cache"], [])).toEqual(["/cache", "/data", "/var/log/app"])
  })

  it("a service volume at the path or above it backs it", () => {
    expect(unbackedImageVolumes(["/data", "/var/lib/pg/data", "/srv"], ["/data", "/var/lib/pg"])).toEqual(["/srv"])
    expect(unbackedImageVolumes(["/database"], ["/data"])).toEqual(["/database"])
  })
})
