/**
 * Upstream response heads with bare-LF line endings (ADR 0502).
 *
 * RFC 9112 §2.2 lets a recipient treat a lone LF as a line terminator; nginx
 * and Go's reverse proxy do, and so do we — but only for the response head,
 * and only after checking it as strictly as llhttp would otherwise: a bare CR,
 * obs-fold, NUL or other control bytes, an invalid header name, conflicting
 * `Content-Length` values or `Content-Length` together with
 * `Transfer-Encoding` refuse the response (502). A head that needed the
 * leniency is re-emitted with CRLF and `Connection: close`, so that
 * connection carries exactly this one response: body framing stays with the
 * strict parser, and nothing after it can be read as another response.
 *
 * Pure functions over bytes; the socket that applies them is upstreamSocket.ts.
 */

export type HeadScan =
  /** No blank line yet: wait for more bytes. */
  | { readonly kind: "incomplete" }
  /** Only CRLF line endings: hand the bytes to the strict parser untouched. */
  | { readonly kind: "strict" }
  /** Bare LF, checked: `head` replaces the first `end` bytes. `informational` = 1xx (another head follows). */
  | { readonly kind: "lenient"; readonly end: number; readonly head: Buffer; readonly informational: boolean }
  /** Refused; `reason` names what is wrong. */
  | { readonly kind: "invalid"; readonly reason: string }

/** Heads larger than this are refused (undici itself stops at 16 KiB). */
export const MAX_HEAD_BYTES = 64 * 1024

const LF = 0x0a
const CR = 0x0d

const STATUS_LINE = /^HTTP\/1\.[01] ([1-9][0-9]{2})(?: [\t\x20-\x7e\x80-\xff]*)?$/
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/
const DIGITS = /^[0-9]+$/

interface Lines {
  readonly lines: ReadonlyArray<string>
  readonly end: number
  readonly bareLf: boolean
}

/** Splits the head into lines; undefined when no blank line yet; a string when a bare CR is found. */
const splitHead = (buf: Buffer): Lines | string | undefined => {
  const lines: Array<string> = []
  let start = 0
  let bareLf = false
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]
    if (b === CR) {
      if (i + 1 >= buf.length) return undefined
      if (buf[i + 1] !== LF) return "bare CR in the response head"
      continue
    }
    if (b !== LF) continue
    const crlf = i > start && buf[i - 1] === CR
    if (!crlf) bareLf = true
    const line = buf.toString("latin1", start, crlf ? i - 1 : i)
    start = i + 1
    if (line === "") return { lines, end: start, bareLf }
    lines.push(line)
  }
  return undefined
}

const headerLines = (lines: ReadonlyArray<string>): Array<{ name: string; value: string }> | string => {
  const out: Array<{ name: string; value: string }> = []
  for (const line of lines) {
    if (line.startsWith(" ") || line.startsWith("\t")) return "obs-fold (a header line starting with whitespace)"
    const colon = line.indexOf(":")
    if (colon <= 0) return "a header line without a name and colon"
    const name = line.slice(0, colon)
    if (!TOKEN.test(name)) return `invalid header name ${JSON.stringify(name)}`
    const value = line.slice(colon + 1).replace(/^[\t ]+|[\t ]+$/g, "")
    if (!FIELD_VALUE.test(value)) return `control character in the value of ${name}`
    out.push({ name, value })
  }
  return out
}

/** Checks framing headers the way a strict parser would (the smuggling cases); the one length when valid. */
const framing = (headers: ReadonlyArray<{ name: string; value: string }>): { error: string } | { length: string | undefined } => {
  const lengths = new Set<string>()
  let chunkedOrTe = false
  for (const h of headers) {
    const n = h.name.toLowerCase()
    if (n === "content-length") {
      for (const part of h.value.split(",")) {
        const v = part.trim()
        if (!DIGITS.test(v)) return { error: `invalid Content-Length ${JSON.stringify(h.value)}` }
        lengths.add(v.replace(/^0+(?=.)/, ""))
      }
    } else if (n === "transfer-encoding") chunkedOrTe = true
  }
  if (lengths.size > 1) return { error: "conflicting Content-Length values" }
  if (lengths.size === 1 && chunkedOrTe) return { error: "both Transfer-Encoding and Content-Length" }
  return { length: [...lengths][0] }
}

const HOP = new Set(["connection", "keep-alive"])

/** Looks at the bytes received so far on a fresh upstream connection (or after a 1xx head). */
export const scanHead = (buf: Buffer): HeadScan => {
  const split = splitHead(buf)
  if (typeof split === "string") return { kind: "invalid", reason: split }
  if (split === undefined) {
    return buf.length > MAX_HEAD_BYTES
      ? { kind: "invalid", reason: `response head larger than ${MAX_HEAD_BYTES} bytes` }
      : { kind: "incomplete" }
  }
  if (split.end > MAX_HEAD_BYTES) return { kind: "invalid", reason: `response head larger than ${MAX_HEAD_BYTES} bytes` }
  if (!split.bareLf) return { kind: "strict" }
  const [status, ...rest] = split.lines
  const m = status === undefined ? null : STATUS_LINE.exec(status)
  if (status === undefined || m === null) return { kind: "invalid", reason: "invalid status line" }
  if (buf.subarray(0, split.end).includes(0)) return { kind: "invalid", reason: "NUL in the response head" }
  const headers = headerLines(rest)
  if (typeof headers === "string") return { kind: "invalid", reason: headers }
  const frame = framing(headers)
  if ("error" in frame) return { kind: "invalid", reason: frame.error }
  const code = Number(m[1])
  const informational = code < 200 && code !== 101
  let out = `${status}\r\n`
  let lengthWritten = false
  for (const h of headers) {
    const n = h.name.toLowerCase()
    if (!informational && HOP.has(n)) continue
    if (n === "content-length") {
      // identical repeats (RFC 9110 §8.6) become one field: the strict parser refuses any repeat
      if (!lengthWritten) out += `Content-Length: ${frame.length ?? "0"}\r\n`
      lengthWritten = true
      continue
    }
    out += `${h.name}: ${h.value}\r\n`
  }
  if (!informational) out += "Connection: close\r\n"
  return { kind: "lenient", end: split.end, head: Buffer.from(`${out}\r\n`, "latin1"), informational }
}
