import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { randomBytes } from "node:crypto"
import {
  comment,
  decryptLeaf,
  encryptLeaf,
  formatGoFloat,
  parseEncryptedValue,
  parseGoBool,
  parseGoFloat,
  type SopsLeaf
} from "../../../src/secrets/sops/index.js"

const key = new Uint8Array(randomBytes(32))

describe("value cipher", () => {
  const cases: ReadonlyArray<readonly [string, SopsLeaf, string]> = [
    ["str", "hunter2 ünïcødé\nsecond line", "str"],
    ["int", 42n, "int"],
    ["negative int64", -9223372036854775808n, "int"],
    ["float", 3.25, "float"],
    ["integral float", 21, "float"],
    ["tiny float", 1.5e-7, "float"],
    ["true", true, "bool"],
    ["false", false, "bool"],
    ["comment", comment(" a comment"), "comment"],
    ["bytes", new Uint8Array([0, 1, 255]), "bytes"]
  ]
  for (const [name, leaf, type] of cases) {
    it.effect(`round-trips ${name} with type:${type} and a 32-byte IV`, () =>
      Effect.gen(function*() {
        const enc = yield* encryptLeaf(leaf, key, "a:b:")
        const parsed = parseEncryptedValue(enc)
        expect(parsed?.type).toBe(type)
        expect(parsed?.iv.length).toBe(32)
        expect(parsed?.tag.length).toBe(16)
        const back = yield* decryptLeaf(enc, key, "a:b:")
        expect(back).toEqual(leaf)
      }))
  }

  it.effect("booleans are encrypted as True/False like sops", () =>
    Effect.gen(function*() {
      const enc = yield* encryptLeaf(true, key, "x:")
      const parsed = parseEncryptedValue(enc)
      expect(parsed?.data.length).toBe(4) // "True"
    }))

  it.effect("empty string and empty comment stay unencrypted", () =>
    Effect.gen(function*() {
      expect(yield* encryptLeaf("", key, "x:")).toBe("")
      expect(yield* encryptLeaf(comment(""), key, "x:")).toBe("")
      expect(yield* decryptLeaf("", key, "x:")).toBe("")
    }))

  it.effect("additional data binds the value to its path", () =>
    Effect.gen(function*() {
      const enc = yield* encryptLeaf("secret", key, "a:")
      const r = yield* Effect.either(decryptLeaf(enc, key, "b:"))
      expect(Either.isLeft(r) && r.left._tag).toBe("denia/secrets/SopsDecryptError")
    }))

  it.effect("a fresh IV per encryption", () =>
    Effect.gen(function*() {
      const a = yield* encryptLeaf("same", key, "p:")
      const b = yield* encryptLeaf("same", key, "p:")
      expect(a).not.toBe(b)
    }))

  it.effect("malformed envelopes and unknown types are SopsDecryptError", () =>
    Effect.gen(function*() {
      for (const bad of ["plain", "ENC[AES256_GCM,data:@@,iv:AA==,tag:AA==,type:str]"]) {
        const r = yield* Effect.either(decryptLeaf(bad, key, "p:"))
        expect(Either.isLeft(r) && r.left._tag).toBe("denia/secrets/SopsDecryptError")
      }
      const enc = (yield* encryptLeaf("x", key, "p:")).replace("type:str", "type:weird")
      const r = yield* Effect.either(decryptLeaf(enc, key, "p:"))
      expect(Either.isLeft(r) && r.left.reason).toMatch(/unknown value type/)
    }))
})

describe("Go text forms", () => {
  it("formats floats like strconv.FormatFloat(f, 'f', -1, 64)", () => {
    expect(formatGoFloat(1234.56789)).toBe("1234.56789")
    expect(formatGoFloat(21)).toBe("21")
    expect(formatGoFloat(1e21)).toBe("1000000000000000000000")
    expect(formatGoFloat(1.5e-7)).toBe("0.00000015")
    expect(formatGoFloat(-2.5e-10)).toBe("-0.00000000025")
    expect(formatGoFloat(1.2345e25)).toBe("12345000000000000000000000")
    expect(formatGoFloat(-0)).toBe("-0")
    expect(formatGoFloat(Infinity)).toBe("+Inf")
    expect(formatGoFloat(NaN)).toBe("NaN")
  })
  it("parses bools and floats like strconv", () => {
    expect(parseGoBool("True")).toBe(true)
    expect(parseGoBool("F")).toBe(false)
    expect(parseGoBool("yes")).toBeUndefined()
    expect(parseGoFloat("1e3")).toBe(1000)
    expect(parseGoFloat("-Inf")).toBe(-Infinity)
    expect(parseGoFloat("1e400")).toBeUndefined()
    expect(parseGoFloat("abc")).toBeUndefined()
  })
})
