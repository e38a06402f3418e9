import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { decryptWithDataKey, parseEncryptedDocument, type SopsBranch, type SopsFormat, toPlain } from "../../../src/secrets/sops/index.js"
import { dataKeyFor, flipEncField, readFixture, tamperLine } from "./helpers.js"

const decryptText = (text: string, format: SopsFormat, key: Uint8Array) =>
  Effect.flatMap(parseEncryptedDocument(text, format), (doc) => decryptWithDataKey(doc, key))

const plainOf = (branches: ReadonlyArray<SopsBranch>) => {
  const [b] = branches
  if (b === undefined) throw new Error("no branch")
  return toPlain(b)
}

describe("SOPS vectors written by sops 3.10.2 / 3.5.0", () => {
  it.effect("decrypts example.yaml with its data key and verifies the MAC", () =>
    Effect.gen(function*() {
      const branches = yield* decryptText(readFixture("example.yaml"), "yaml", dataKeyFor("example.yaml"))
      const plain = plainOf(branches)
      expect(plain).toMatchObject({
        myapp1: "t00m4nys3cr3tzupdated",
        app2: { db: { user: "eve", password: "c4r1b0u" } },
        an_array: ["secretuser1", "secretuser2", "somelongvalueAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "some other value"],
        somebooleans: [true, false],
        this: { is: { a: { nested: { value: "with something secret in it" } } } },
        somelist_unencrypted: [
          "all elements of this list",
          "remain in clear text",
          "because of the _unencrypted suffix in the key"
        ],
        nested_unencrypted: { this: { is: { all: "going to remain in clear text" } } }
      })
      // float type decrypts to a JS number
      expect(typeof (plain as { number: unknown }).number).toBe("number")
      expect(String((plain as { app2: { key: string } }).app2.key)).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/)
    }))

  it.effect("decrypts the encrypted comments of example.yaml with their branch path", () =>
    Effect.gen(function*() {
      const [b] = yield* decryptText(readFixture("example.yaml"), "yaml", dataKeyFor("example.yaml"))
      const texts: Array<string> = []
      const visit = (v: unknown): void => {
        if (typeof v !== "object" || v === null) return
        const node = v as { _tag?: string; text?: string; items?: ReadonlyArray<unknown>; value?: unknown }
        if (node._tag === "Comment" && typeof node.text === "string") texts.push(node.text)
        if (node.items) node.items.forEach(visit)
        if (node._tag === "Entry") visit(node.value)
      }
      visit(b)
      expect(texts).toEqual([
        " private key for secret operations in app2",
        " sops supports unencrypted fields",
        " by adding the `_unencrypted` suffix",
        " to any key"
      ])
    }))

  it.effect("decrypts example.json (float, nested objects, arrays of objects, empty string)", () =>
    Effect.gen(function*() {
      const branches = yield* decryptText(readFixture("example.json"), "json", dataKeyFor("example.json"))
      expect(plainOf(branches)).toEqual({
        firstName: "John",
        lastName: "Smith",
        age: 25.4,
        address: { city: "New York", postalCode: "10021-3100", state: "NY", streetAddress: "21 2nd Street" },
        phoneNumbers: [{ number: "212 555-1234", type: "home" }, { number: "646 555-4567", type: "office" }],
        anEmptyValue: ""
      })
    }))

  it.effect("a wrong data key fails with SopsDecryptError", () =>
    Effect.gen(function*() {
      const r = yield* Effect.either(decryptText(readFixture("example.yaml"), "yaml", new Uint8Array(32)))
      expect(Either.isLeft(r) && r.left._tag).toBe("denia/secrets/SopsDecryptError")
    }))
})

describe("tampering with a sops-written file", () => {
  const yaml = () => readFixture("example.yaml")
  const key = () => dataKeyFor("example.yaml")

  const expectFailure = (text: string, tag: string, path?: string) =>
    Effect.gen(function*() {
      const r = yield* Effect.either(decryptText(text, "yaml", key()))
      if (Either.isRight(r)) throw new Error("tampered document decrypted")
      expect(r.left._tag).toBe(tag)
      if (path !== undefined && r.left._tag === "denia/secrets/SopsDecryptError") expect(r.left.path).toBe(path)
    })

  for (const field of ["data", "iv", "tag"] as const) {
    it.effect(`one flipped bit in a value's ${field} → SopsDecryptError`, () =>
      expectFailure(tamperLine(yaml(), "password:", (e) => flipEncField(e, field)), "denia/secrets/SopsDecryptError", "app2:db:password:"))
    it.effect(`one flipped bit in the MAC's ${field} → SopsDecryptError on sops:mac`, () =>
      expectFailure(tamperLine(yaml(), "mac:", (e) => flipEncField(e, field, 5)), "denia/secrets/SopsDecryptError", "sops:mac"))
    it.effect(`one flipped bit in an encrypted comment's ${field} → SopsDecryptError`, () =>
      expectFailure(
        tamperLine(yaml(), "type:comment", (e) => flipEncField(e, field)),
        "denia/secrets/SopsDecryptError",
        "app2:db:"
      ))
  }

  it.effect("the last byte of a long ciphertext flipped → SopsDecryptError", () =>
    expectFailure(tamperLine(yaml(), "    key:", (e) => flipEncField(e, "data", 10_000)), "denia/secrets/SopsDecryptError"))

  it.effect("moving a ciphertext to another key fails authentication (path is additional data)", () => {
    const text = yaml()
    const userEnc = /user: (ENC\[[^\]]*\])/.exec(text)?.[1]
    if (userEnc === undefined) throw new Error("fixture changed")
    return expectFailure(tamperLine(text, "myapp1:", () => userEnc), "denia/secrets/SopsDecryptError", "myapp1:")
  })

  it.effect("swapping two array items (same path) → SopsMacMismatch", () => {
    const lines = yaml().split("\n")
    const i = lines.findIndex((l) => l.startsWith("an_array:"))
    const a = lines[i + 1]
    const b = lines[i + 2]
    if (a === undefined || b === undefined) throw new Error("fixture changed")
    lines[i + 1] = b
    lines[i + 2] = a
    return expectFailure(lines.join("\n"), "denia/secrets/SopsMacMismatch")
  })

  it.effect("editing an unencrypted (_unencrypted) value → SopsMacMismatch", () =>
    expectFailure(yaml().replace("remain in clear text", "remain in clear text!"), "denia/secrets/SopsMacMismatch"))

  it.effect("editing lastmodified breaks the MAC's additional data → SopsDecryptError", () =>
    expectFailure(yaml().replace("2025-08-06T18:55:05Z", "2025-08-06T18:55:06Z"), "denia/secrets/SopsDecryptError", "sops:mac"))

  it.effect("a value replaced by plain text → SopsDecryptError", () =>
    expectFailure(tamperLine(yaml(), "user:", () => "mallory"), "denia/secrets/SopsDecryptError", "app2:db:user:"))

  it.effect("missing sops metadata → SopsFormatError", () =>
    expectFailure(yaml().slice(0, yaml().indexOf("sops:")), "denia/secrets/SopsFormatError"))

  it.effect("JSON: one flipped bit in a value → SopsDecryptError", () =>
    Effect.gen(function*() {
      const json = readFixture("example.json")
      const m = /"city": "(ENC\[[^\]]*\])"/.exec(json)
      if (m?.[1] === undefined) throw new Error("fixture changed")
      const text = json.replace(m[1], flipEncField(m[1], "tag"))
      const r = yield* Effect.either(decryptText(text, "json", dataKeyFor("example.json")))
      expect(Either.isLeft(r) && r.left._tag).toBe("denia/secrets/SopsDecryptError")
    }))
})
