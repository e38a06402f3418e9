/**
 * JSON text ⇄ SOPS tree. `JSON.parse` cannot be used: it reorders
 * integer-like keys (the MAC depends on document order) and loses the
 * int/float distinction and 64-bit integers. This small parser keeps key
 * order and number lexemes: numbers without fraction or exponent are ints
 * (bigint), the rest floats. The top level must be an object, as in sops.
 * Output is tab-indented like sops' JSON store.
 */
import { Effect } from "effect"
import { SopsFormatError } from "../errors.js"
import { formatGoFloat } from "./goFormat.js"
import { branch, entry, isComment, sequence, type SopsBranch, type SopsEntry, type SopsValue } from "./tree.js"

class JsonSyntaxError extends Error {}

const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y
const MAX_DEPTH = 256

const parseText = (text: string): SopsBranch => {
  let i = 0
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`invalid JSON at offset ${i}: ${what}`)
  }
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i)
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++
      else break
    }
  }
  const str = (): string => {
    const start = i
    i++ // opening quote
    while (i < text.length) {
      const c = text[i]
      if (c === "\\") i += 2
      else if (c === "\"") break
      else i++
    }
    if (i >= text.length) fail("unterminated string")
    i++
    const literal = text.slice(start, i)
    let decoded: unknown
    try {
      decoded = JSON.parse(literal)
    } catch {
      fail("bad string")
    }
    return typeof decoded === "string" ? decoded : fail("bad string")
  }
  const literal = (word: string, value: SopsValue): SopsValue => {
    if (text.startsWith(word, i)) {
      i += word.length
      return value
    }
    return fail("unexpected token")
  }
  const value = (depth: number): SopsValue => {
    if (depth > MAX_DEPTH) fail("nesting too deep")
    ws()
    const c = text[i]
    if (c === "{") return object(depth + 1)
    if (c === "[") {
      i++
      const items: Array<SopsValue> = []
      ws()
      if (text[i] === "]") {
        i++
        return sequence(items)
      }
      for (;;) {
        items.push(value(depth + 1))
        ws()
        if (text[i] === ",") {
          i++
          continue
        }
        if (text[i] === "]") {
          i++
          return sequence(items)
        }
        fail("expected , or ]")
      }
    }
    if (c === "\"") return str()
    if (c === "t") return literal("true", true)
    if (c === "f") return literal("false", false)
    if (c === "n") return literal("null", null)
    NUMBER_RE.lastIndex = i
    const m = NUMBER_RE.exec(text)
    if (m === null) return fail("unexpected token")
    i = NUMBER_RE.lastIndex
    return m[1] === undefined && m[2] === undefined ? BigInt(m[0]) : Number(m[0])
  }
  const object = (depth: number): SopsBranch => {
    i++ // {
    const items: Array<SopsEntry> = []
    ws()
    if (text[i] === "}") {
      i++
      return branch(items)
    }
    for (;;) {
      ws()
      if (text[i] !== "\"") fail("expected a key")
      const key = str()
      ws()
      if (text[i] !== ":") fail("expected :")
      i++
      items.push(entry(key, value(depth)))
      ws()
      if (text[i] === ",") {
        i++
        continue
      }
      if (text[i] === "}") {
        i++
        return branch(items)
      }
      fail("expected , or }")
    }
  }
  ws()
  if (text[i] !== "{") fail("the top level must be an object")
  const root = object(1)
  ws()
  if (i !== text.length) fail("trailing data")
  return root
}

/** Parses a JSON object into a branch. */
export const parseJson = (text: string): Effect.Effect<SopsBranch, SopsFormatError> =>
  Effect.try({
    try: () => parseText(text),
    catch: (e) => new SopsFormatError({ reason: e instanceof JsonSyntaxError ? e.message : "invalid JSON", cause: e })
  })

const emitValue = (v: SopsValue, indent: string): string => {
  if (v === null) return "null"
  if (typeof v === "string") return JSON.stringify(v)
  if (typeof v === "bigint") return v.toString(10)
  if (typeof v === "boolean") return v ? "true" : "false"
  if (typeof v === "number") {
    // JSON has no NaN/Infinity; keep them readable as strings rather than emitting invalid JSON
    if (!Number.isFinite(v)) return JSON.stringify(formatGoFloat(v))
    const s = formatGoFloat(v)
    return Number.isInteger(v) && !s.includes(".") ? `${s}.0` : s
  }
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString("base64"))
  const inner = indent + "\t"
  if (v._tag === "Sequence") {
    const items = v.items.filter((x) => !isComment(x))
    if (items.length === 0) return "[]"
    return "[\n" + items.map((x) => inner + emitValue(isComment(x) ? null : x, inner)).join(",\n") + "\n" + indent + "]"
  }
  const entries = v.items.filter((x): x is SopsEntry => x._tag === "Entry")
  if (entries.length === 0) return "{}"
  return "{\n" + entries.map((e) => `${inner}${JSON.stringify(e.key)}: ${emitValue(e.value, inner)}`).join(",\n") + "\n" +
    indent + "}"
}

/** Emits a branch as tab-indented JSON (comments have no JSON form and are dropped). */
export const emitJson = (b: SopsBranch): string => emitValue(b, "") + "\n"
