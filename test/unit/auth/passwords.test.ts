import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { hashPassword, verifyPassword } from "../../../src/auth/passwords.js"
import { Throttle } from "../../../src/auth/Throttle.js"

describe("passwords", () => {
  it("hash with scrypt, salted, and verify", async () => {
    const a = await Effect.runPromise(hashPassword("correct horse battery"))
    const b = await Effect.runPromise(hashPassword("correct horse battery"))
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/)
    expect(a).not.toBe(b)
    expect(a).not.toContain("correct horse")
    expect(await Effect.runPromise(verifyPassword("correct horse battery", a))).toBe(true)
    expect(await Effect.runPromise(verifyPassword("correct horse batterx", a))).toBe(false)
    expect(await Effect.runPromise(verifyPassword("x", "garbage"))).toBe(false)
  })
})

describe("Throttle", () => {
  it("limits per key and reports retry-after", async () => {
    const program = Effect.gen(function*() {
      const t = yield* Throttle
      for (let i = 0; i < 3; i++) yield* t.hit("b", "k1", 3, 60_000)
      const over = yield* Effect.flip(t.hit("b", "k1", 3, 60_000))
      yield* t.hit("b", "k2", 3, 60_000)
      return over
    }).pipe(Effect.provide(Throttle.layer))
    const over = await Effect.runPromise(program)
    expect(over._tag).toBe("denia/auth/RateLimited")
    expect(over.retryAfterSeconds).toBeGreaterThan(0)
  })
})
