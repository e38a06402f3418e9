import { describe, expect, it } from "vitest"
import { MAX_HEAD_BYTES, scanHead } from "../../../src/ingress/upstreamHead.js"

const scan = (s: string) => scanHead(Buffer.from(s, "latin1"))
const headOf = (s: string): string => {
  const r = scan(s)
  if (r.kind !== "lenient") throw new Error(`expected lenient, got ${JSON.stringify(r)}`)
  return r.head.toString("latin1")
}
const reasonOf = (s: string): string => {
  const r = scan(s)
  if (r.kind !== "invalid") throw new Error(`expected invalid, got ${r.kind}`)
  return r.reason
}

describe("upstream response heads (ADR 0502)", () => {
  it("leaves CRLF heads to the strict parser and waits for incomplete ones", () => {
    expect(scan("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").kind).toBe("strict")
    expect(scan("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n").kind).toBe("incomplete")
    expect(scan("HTTP/1.1 200 OK\r").kind).toBe("incomplete")
    expect(scan("HTTP/1.1 200 OK\nX: 1\n").kind).toBe("incomplete")
  })

  it("rewrites a bare-LF head to CRLF with Connection: close, dropping the replica's own Connection/Keep-Alive", () => {
    const raw = "HTTP/1.0 200 OK\nContent-Type: text/plain\nConnection: keep-alive\nKeep-Alive: timeout=5\nContent-Length: 3\n\nabc"
    const r = scan(raw)
    expect(r).toMatchObject({ kind: "lenient", informational: false, end: raw.length - 3 })
    expect(headOf(raw)).toBe("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\n")
  })

  it("accepts mixed line endings and a status line without reason phrase", () => {
    expect(headOf("HTTP/1.1 204\r\nX-A: 1\nX-B:  2 \r\n\n")).toBe("HTTP/1.1 204\r\nX-A: 1\r\nX-B: 2\r\nConnection: close\r\n\r\n")
  })

  it("marks 1xx heads informational (another head follows) and keeps their headers", () => {
    const r = scan("HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\n\n")
    expect(r).toMatchObject({ kind: "lenient", informational: true, end: "HTTP/1.1 100 Continue\n\n".length })
    expect(headOf("HTTP/1.1 103 Early Hints\nLink: </a>\n\n")).toBe("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
  })

  it("refuses what enables response splitting or smuggling", () => {
    expect(reasonOf("HTTP/1.1 200 OK\rX-Evil: 1\r\n\r\n")).toBe("bare CR in the response head")
    expect(reasonOf("HTTP/1.1 200 OK\nX-A: a\rb\n\n")).toBe("bare CR in the response head")
    expect(reasonOf("HTTP/1.1 200 OK\nX-A: a\n b\n\n")).toMatch(/^obs-fold/)
    expect(reasonOf("HTTP/1.1 200 OK\nX-A: a\u0000b\n\n")).toBe("NUL in the response head")
    expect(reasonOf("HTTP/1.1 200 OK\nX-A: a\u0001b\n\n")).toBe("control character in the value of X-A")
    expect(reasonOf("HTTP/1.1 200 OK\nX A: 1\n\n")).toBe("invalid header name \"X A\"")
    expect(reasonOf("HTTP/1.1 200 OK\nX-A : 1\n\n")).toBe("invalid header name \"X-A \"")
    expect(reasonOf("HTTP/1.1 200 OK\nno colon here\n\n")).toBe("a header line without a name and colon")
    expect(reasonOf("HTTP/1.1 200 OK\nContent-Length: 3\nContent-Length: 4\n\nabcd")).toBe("conflicting Content-Length values")
    expect(reasonOf("HTTP/1.1 200 OK\nContent-Length: 3, 4\n\nabcd")).toBe("conflicting Content-Length values")
    expect(reasonOf("HTTP/1.1 200 OK\nContent-Length: -1\n\n")).toBe("invalid Content-Length \"-1\"")
    expect(reasonOf("HTTP/1.1 200 OK\nContent-Length: 3\nTransfer-Encoding: chunked\n\n")).toBe(
      "both Transfer-Encoding and Content-Length"
    )
    expect(reasonOf("HTTP/2 200 OK\n\n")).toBe("invalid status line")
    expect(reasonOf("HTTP/1.1 99 Low\n\n")).toBe("invalid status line")
  })

  it("folds repeated identical Content-Length values into one field (RFC 9110 §8.6)", () => {
    expect(headOf("HTTP/1.1 200 OK\nContent-Length: 3\nX: y\ncontent-length: 03\n\nabc")).toBe(
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX: y\r\nConnection: close\r\n\r\n"
    )
  })

  it("bounds the head", () => {
    const big = `HTTP/1.1 200 OK\nX-Big: ${"a".repeat(MAX_HEAD_BYTES)}`
    expect(reasonOf(big)).toBe(`response head larger than ${MAX_HEAD_BYTES} bytes`)
  })
})
