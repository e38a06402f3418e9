/**
 * Password hashing with scrypt (memory-hard): N=2^15, r=8, p=1 (~32 MiB per
 * hash), 16-byte salt, 32-byte key. Stored as `scrypt$N$r$p$salt$hash` (base64url).
 */
import { Effect } from "effect"
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto"

const N = 1 << 15
const R = 8
const P = 1
const KEY_LENGTH = 32
const MAXMEM = 128 * N * R * 2

const derive = (password: string, salt: Buffer, n: number, r: number, p: number) =>
  Effect.async<Buffer>((resume) => {
    scrypt(password.normalize("NFC"), salt, KEY_LENGTH, { N: n, r, p, maxmem: Math.max(MAXMEM, 128 * n * r * 2) }, (err, key) =>
      resume(err === null ? Effect.succeed(key) : Effect.die(err)))
  })

export const hashPassword = (password: string): Effect.Effect<string> =>
  Effect.gen(function*() {
    const salt = randomBytes(16)
    const key = yield* derive(password, salt, N, R, P)
    return `scrypt$${N}$${R}$${P}$${salt.toString("base64url")}$${key.toString("base64url")}`
  })

/** Constant-time check; a malformed stored hash never verifies. */
export const verifyPassword = (password: string, stored: string): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const [scheme, n, r, p, salt, hash] = stored.split("$")
    if (scheme !== "scrypt" || n === undefined || r === undefined || p === undefined || salt === undefined || hash === undefined) {
      return false
    }
    const expected = Buffer.from(hash, "base64url")
    const key = yield* derive(password, Buffer.from(salt, "base64url"), Number(n), Number(r), Number(p))
    return expected.length === key.length && timingSafeEqual(expected, key)
  })

/** A hash of a random password, used to spend the same time when the user does not exist. */
export const dummyHash: Effect.Effect<string> = Effect.runSync(Effect.cached(hashPassword(randomBytes(16).toString("hex"))))
