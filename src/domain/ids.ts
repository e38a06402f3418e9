import { Schema } from "effect"

/** Web Crypto (Node ≥ 19 and browsers alike), so domain code stays free of node:*. */
const randomUint16 = (): number => globalThis.crypto.getRandomValues(new Uint16Array(1))[0] ?? 0

let lastMs = 0
let counter = 0

/**
 * UUIDv7 (RFC 9562): 48-bit Unix ms timestamp, version 7, 12 bits of a
 * per-millisecond counter (monotonic within this process), variant, 62 random bits.
 */
export const uuidv7 = (now: number = Date.now()): string => {
  if (now <= lastMs) {
    counter = (counter + 1) & 0xfff
    if (counter === 0) lastMs += 1
    now = lastMs
  } else {
    lastMs = now
    counter = randomUint16() & 0x3ff
  }
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16))
  for (let i = 5, t = now; i >= 0; i--, t = Math.floor(t / 256)) b[i] = t % 256
  b[6] = 0x70 | ((counter >> 8) & 0x0f)
  b[7] = counter & 0xff
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f)
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** A server-minted id. Accepts any RFC 9562 UUID on input (lower-case). */
export const Id = Schema.String.pipe(
  Schema.pattern(UUID_PATTERN, { message: () => "must be a lower-case UUID" })
).annotations({ identifier: "Id", description: "UUIDv7 minted by the server" })
