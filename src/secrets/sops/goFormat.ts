/**
 * Text forms of scalars exactly as sops (Go) produces and accepts them. They
 * matter twice: as the plaintext inside each ENC[...] value and as the bytes
 * fed to the MAC, so a float must print like Go's
 * `strconv.FormatFloat(f, 'f', -1, 64)` and a bool like sops' `True`/`False`.
 */

/** Go `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent. */
export const formatGoFloat = (f: number): string => {
  if (Number.isNaN(f)) return "NaN"
  if (f === Infinity) return "+Inf"
  if (f === -Infinity) return "-Inf"
  if (f === 0) return Object.is(f, -0) ? "-0" : "0"
  const s = String(f)
  const e = s.indexOf("e")
  if (e < 0) return s
  // Expand JS exponent notation (used below 1e-6 and from 1e21) into plain decimals.
  const negative = s.startsWith("-")
  const mantissa = s.slice(negative ? 1 : 0, e)
  const exponent = Number(s.slice(e + 1))
  const dot = mantissa.indexOf(".")
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1)
  const intLen = (dot < 0 ? mantissa.length : dot) + exponent
  let out: string
  if (intLen <= 0) out = "0." + "0".repeat(-intLen) + digits
  else if (intLen >= digits.length) out = digits + "0".repeat(intLen - digits.length)
  else out = digits.slice(0, intLen) + "." + digits.slice(intLen)
  return (negative ? "-" : "") + out
}

/** sops writes booleans Python-style. */
export const formatSopsBool = (b: boolean): string => (b ? "True" : "False")

/** Go `strconv.ParseBool`. */
export const parseGoBool = (s: string): boolean | undefined => {
  switch (s) {
    case "1":
    case "t":
    case "T":
    case "TRUE":
    case "true":
    case "True":
      return true
    case "0":
    case "f":
    case "F":
    case "FALSE":
    case "false":
    case "False":
      return false
    default:
      return undefined
  }
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** Go `strconv.Atoi` / `ParseInt(s, 10, 64)` on a 64-bit platform. */
export const parseGoInt = (s: string): bigint | undefined => {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined
  const n = BigInt(s)
  return n < INT64_MIN || n > INT64_MAX ? undefined : n
}

/** Go `strconv.ParseFloat(s, 64)` for the decimal, infinity and NaN spellings. */
export const parseGoFloat = (s: string): number | undefined => {
  const lower = s.toLowerCase()
  if (/^[+-]?(inf|infinity)$/.test(lower)) return lower.startsWith("-") ? -Infinity : Infinity
  if (lower === "nan") return NaN
  if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(s)) {
    const n = Number(s)
    // Go reports out-of-range values as an error
    return Number.isFinite(n) ? n : undefined
  }
  return undefined
}
