import { describe, expect, it } from "vitest"
import { renderTable } from "../../../src/cli/client/output.js"
import { escapeControl, forStream, stripAnsi } from "../../../src/cli/terminal.js"

const hostile = "web\u001b[2J\u001b]0;pwned\u0007\rX\u0000\u009b31m\u007f"

describe("terminal escaping of server-provided text", () => {
  it("escapes ESC, CR, NUL, BEL, DEL and C1 controls so none reaches the terminal", () => {
    const out = escapeControl(hostile)
    expect(out).toBe("web\\x1b[2J\\x1b]0;pwned\\x07\\rX\\0\\x9b31m\\x7f")
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/)
  })

  it("keeps newlines and tabs only in multi-line mode (log output)", () => {
    expect(escapeControl("a\tb\nc\rd", { multiline: true })).toBe("a\tb\nc\\rd")
    expect(escapeControl("a\tb\nc")).toBe("a\\tb\\nc")
  })

  it("leaves printable text, including non-ASCII, as it is", () => {
    expect(escapeControl("café ✓ 日本 \\x1b")).toBe("café ✓ 日本 \\x1b")
  })

  it("escapes only for a terminal: pipes get the bytes", () => {
    const sink = { write: () => true }
    expect(forStream({ ...sink, isTTY: true }, "a\u001bb")).toBe("a\\x1bb")
    expect(forStream({ ...sink, isTTY: false }, "a\u001bb")).toBe("a\u001bb")
  })

  it("table cells are escaped one by one, so a hostile name cannot break the layout", () => {
    const lines = renderTable([{ name: "evil\r\nname\u001b[1A" }], [["name", (r: { name: string }) => r.name]], true)
    expect(lines).toEqual(["NAME", "evil\\r\\nname\\x1b[1A"])
  })

  it("stripAnsi removes colour sequences (CSI and OSC)", () => {
    expect(stripAnsi("\u001b[0;1mUSAGE\u001b[0m \u001b]8;;x\u0007link")).toBe("USAGE link")
  })
})
