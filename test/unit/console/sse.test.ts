/** The console's Server-Sent Events parser, fed the way a network delivers bytes: in arbitrary pieces. */
import { describe, expect, it } from "vitest"
import { createSseParser, endSummary } from "../../../console/src/api/sse.js"

const stream =
  "id: 0\nevent: log\ndata: first line\n\nid: 11\nevent: log\ndata: second\n\n: keep-alive\n\nevent: end\ndata: {\"status\":\"failed\",\"error\":\"boom\"}\n\n"

describe("SSE parser", () => {
  it("yields the same events however the stream is split", () => {
    const whole = createSseParser()(stream)
    expect(whole).toEqual([
      { event: "log", data: "first line", id: "0" },
      { event: "log", data: "second", id: "11" },
      { event: "end", data: "{\"status\":\"failed\",\"error\":\"boom\"}", id: undefined }
    ])
    for (const size of [1, 2, 3, 7, 16]) {
      const parse = createSseParser()
      const events = []
      for (let i = 0; i < stream.length; i += size) events.push(...parse(stream.slice(i, i + size)))
      expect(events, `chunks of ${size}`).toEqual(whole)
    }
  })

  it("joins multi-line data, accepts CRLF and fields without a space", () => {
    const events = createSseParser()("data:a\r\ndata: b\r\n\r\nevent:end\r\ndata:x\r\n\r\n")
    expect(events).toEqual([
      { event: "message", data: "a\nb", id: undefined },
      { event: "end", data: "x", id: undefined }
    ])
  })

  it("holds an incomplete event until its blank line arrives", () => {
    const parse = createSseParser()
    expect(parse("event: log\ndata: par")).toEqual([])
    expect(parse("tial\n\n")).toEqual([{ event: "log", data: "partial", id: undefined }])
  })

  it("summarises a deployment's end event by its status", () => {
    expect(endSummary("{\"status\":\"healthy\"}")).toBe("healthy")
    expect(endSummary("bye")).toBe("bye")
  })
})
