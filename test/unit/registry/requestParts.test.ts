import { Effect } from "effect"
import { PassThrough } from "node:stream"
import { describe, expect, it } from "vitest"
import { parseContentRange, parseRange, rangeHeader, readBody } from "../../../src/registry/requestParts.js"

describe("upload ranges", () => {
  it("formats the session Range header", () => {
    expect(rangeHeader(0)).toBe("0-0")
    expect(rangeHeader(1)).toBe("0-0")
    expect(rangeHeader(100)).toBe("0-99")
  })
  it("parses Content-Range forms clients send", () => {
    expect(parseContentRange(undefined)).toBeUndefined()
    expect(parseContentRange("0-99")).toEqual({ start: 0, end: 99 })
    expect(parseContentRange("bytes 100-199/*")).toEqual({ start: 100, end: 199 })
    expect(parseContentRange("bytes=5-9")).toEqual({ start: 5, end: 9 })
    expect(parseContentRange("abc")).toBe("invalid")
  })
})

describe("blob byte ranges", () => {
  it.each([
    ["bytes=0-9", 100, { start: 0, end: 9 }],
    ["bytes=90-", 100, { start: 90, end: 99 }],
    ["bytes=-5", 100, { start: 95, end: 99 }],
    ["bytes=50-500", 100, { start: 50, end: 99 }],
    ["bytes=-500", 100, { start: 0, end: 99 }]
  ])("%s of %d bytes", (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected)
  })
  it.each([["bytes=100-"], ["bytes=9-5"], ["bytes=-0"], ["bytes=-"], ["items=0-1"], ["bytes=0-1,3-4"]])("%s is unsatisfiable", (header) => {
    expect(parseRange(header, 100)).toBeUndefined()
  })
})

describe("readBody", () => {
  const body = (chunks: Array<string>) => {
    const s = new PassThrough()
    for (const c of chunks) s.write(c)
    s.end()
    return s
  }
  it("collects a body within the cap", async () => {
    expect((await Effect.runPromise(readBody(body(["ab", "cd"]), 10))).toString()).toBe("abcd")
  })
  it("fails with 413 SIZE_INVALID past the cap", async () => {
    const e = await Effect.runPromise(Effect.flip(readBody(body(["abcdef", "ghijkl"]), 8)))
    expect([e.code, e.status]).toEqual(["SIZE_INVALID", 413])
  })
})
