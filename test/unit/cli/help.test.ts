import { describe, expect, it } from "vitest"
import { HELP_WIDTH, tidyHelp, wrap } from "../../../src/cli/help.js"

describe("help text", () => {
  it("is plain text without the type filler lines", () => {
    const raw =
      "\u001b[0;1mOPTIONS\u001b[0m\n\n--url URL\n\n  A user-defined piece of text.\n\n  Daemon URL\n\n  This setting is optional.\n\n--port PORT\n\n  This setting is optional. Defaults to: 8080\n"
    const out = tidyHelp(raw)
    expect(out).not.toContain("\u001b")
    expect(out).not.toMatch(/user-defined|This setting is optional/)
    expect(out).toContain("  Daemon URL")
    expect(out).toContain("  Default: 8080")
    expect(out).not.toMatch(/\n\n\n/)
  })

  it("folds command rows and long lines to at most 100 columns", () => {
    const usage = `services create ${Array.from({ length: 12 }, (_, i) => `[--option-${i} VALUE]`).join(" ")} <name>`
    const raw = `\u001b[1mCOMMANDS\u001b[0m\n\n  - ${usage}${" ".repeat(4)}Create a service.\n  ${"word ".repeat(40)}\n`
    const lines = tidyHelp(raw).split("\n")
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(HELP_WIDTH)
    const row = lines.findIndex((l) => l.startsWith("  - services create"))
    expect(row).toBeGreaterThan(0)
    expect(lines.some((l) => l === "        Create a service.")).toBe(true)
  })

  it("wrap keeps the indent on every line", () => {
    const lines = wrap("a ".repeat(80), "    ", 20)
    expect(lines.every((l) => l.startsWith("    ") && l.length <= 20)).toBe(true)
  })
})
