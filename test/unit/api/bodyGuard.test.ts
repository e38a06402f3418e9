import { describe, expect, it } from "vitest"
import { isJsonContentType, jsonDepthExceeds, MAX_JSON_DEPTH } from "../../../src/api/server/bodyGuard.js"

describe("isJsonContentType", () => {
  it("accepts application/json with or without parameters, any case", () => {
    for (const t of ["application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-8"]) {
      expect(isJsonContentType(t), t).toBe(true)
    }
  })
  it("refuses look-alikes and other types", () => {
    for (
      const t of [
        "application/jsonx",
        "application/merge-patch+json",
        "application/vnd.x+json",
        "text/json",
        "application/json-seq",
        "text/plain",
        "",
        "application/x-www-form-urlencoded; application/json"
      ]
    ) {
      expect(isJsonContentType(t), t).toBe(false)
    }
  })
})

describe("jsonDepthExceeds", () => {
  const nest = (n: number) => "[".repeat(n) + "]".repeat(n)
  it("counts arrays and objects, stops past the limit", () => {
    expect(jsonDepthExceeds(nest(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false)
    expect(jsonDepthExceeds(nest(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true)
    expect(jsonDepthExceeds("{\"a\":".repeat(65) + "1" + "}".repeat(65), 64)).toBe(true)
    expect(jsonDepthExceeds("[".repeat(100_000), 64)).toBe(true)
  })
  it("ignores brackets inside strings, escaped quotes included", () => {
    expect(jsonDepthExceeds(JSON.stringify({ a: "[".repeat(500), b: "\\\"{{{{", c: ["x\\\"[[["] }), 3)).toBe(false)
  })
  it("depth is the maximum, not the total", () => {
    expect(jsonDepthExceeds(Array.from({ length: 200 }, () => nest(3)).join(","), 3)).toBe(false)
  })
})
