import { describe, expect, it } from "@effect/vitest"
import { generateX25519Identity, identityToRecipient } from "age-encryption"
import { Effect, Either } from "effect"
import { parse as parseYamlLib } from "yaml"
import {
  branch,
  branchFromPlain,
  comment,
  decryptDocument,
  decryptWithDataKey,
  encryptDocument,
  type EncryptionRules,
  entry,
  parseEncryptedDocument,
  parsePlain,
  sequence,
  type SopsBranch,
  toPlain
} from "../../../src/secrets/sops/index.js"

const keys = Effect.promise(async () => {
  const identity = await generateX25519Identity()
  return { identity, recipient: await identityToRecipient(identity) }
})

/** Every value type, nested maps, sequences with comments, a null, an empty string, an unencrypted subtree. */
const sample: SopsBranch = branch([
  comment(" leading comment"),
  entry("str", "hello: world # not a comment"),
  entry("multiline", "line one\nline two\n"),
  entry("int", 42n),
  entry("big", 9007199254740993n),
  entry("float", 2.5),
  entry("integral_float", 21),
  entry("yes", true),
  entry("no", false),
  entry("nothing", null),
  entry("empty", ""),
  entry(
    "nested",
    branch([
      entry("user", "eve"),
      comment(" about the password"),
      entry("password", "c4r1b0u"),
      comment(" trailing in nested")
    ])
  ),
  entry("list", sequence(["a", 1n, 1.5, false, comment(" in a list"), branch([entry("k", "v")])])),
  entry("kept_unencrypted", branch([entry("note", "visible"), entry("n", 7n)])),
  comment(" last comment")
])

const roundTrip = (input: ReadonlyArray<SopsBranch>, format: "yaml" | "json", rules?: EncryptionRules) =>
  Effect.gen(function*() {
    const { identity, recipient } = yield* keys
    const text = yield* encryptDocument(input, format, { recipients: [recipient], rules })
    const out = yield* decryptDocument(text, format, [identity])
    return { text, out, identity, recipient }
  })

describe("SOPS YAML round trip", () => {
  it.effect("every value type, comments, null, empty string and _unencrypted survive", () =>
    Effect.gen(function*() {
      const { text, out } = yield* roundTrip([sample], "yaml")
      expect(out).toEqual([sample])
      // what is (not) encrypted on disk
      expect(text).not.toContain("c4r1b0u")
      expect(text).not.toContain("about the password")
      expect(text).toContain("note: visible")
      expect(text).toContain("empty: \"\"")
      expect(text).toContain("nothing: null")
      for (const t of ["str", "int", "float", "bool", "comment"]) expect(text).toContain(`type:${t}]`)
      // the sops block, readable by any YAML parser
      const doc = parseYamlLib(text) as { sops: Record<string, unknown> }
      expect(Object.keys(doc.sops)).toEqual(["age", "lastmodified", "mac", "unencrypted_suffix", "version"])
      expect(doc.sops["unencrypted_suffix"]).toBe("_unencrypted")
      expect(doc.sops["lastmodified"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      expect(doc.sops["mac"]).toMatch(/^ENC\[AES256_GCM,data:[^,]+,iv:[^,]+,tag:[^,]+,type:str\]$/)
      const age = doc.sops["age"] as ReadonlyArray<{ recipient: string; enc: string }>
      expect(age[0]?.enc).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]+\n-----END AGE ENCRYPTED FILE-----\n$/)
      // comments are written as own-line #ENC[...] lines like sops writes them
      expect(text).toMatch(/\n {4}#ENC\[AES256_GCM,[^\]]+type:comment\]\n/)
    }))

  it.effect("the MAC is upper-case hex SHA-512 over the plaintext", () =>
    Effect.gen(function*() {
      const { identity, recipient } = yield* keys
      const dataKey = new Uint8Array(32).fill(7)
      const text = yield* encryptDocument([branchFromPlain({ a: "x", b_unencrypted: "y" })], "yaml", {
        recipients: [recipient],
        dataKey
      })
      const doc = yield* parseEncryptedDocument(text, "yaml")
      const { decryptLeaf } = yield* Effect.promise(() => import("../../../src/secrets/sops/valueCipher.js"))
      const mac = yield* decryptLeaf(doc.metadata.mac, dataKey, doc.metadata.lastModified)
      const { createHash } = yield* Effect.promise(() => import("node:crypto"))
      expect(mac).toBe(createHash("sha512").update("xy").digest("hex").toUpperCase())
      expect(yield* decryptDocument(text, "yaml", [identity])).toHaveLength(1)
    }))

  it.effect("parses plaintext YAML with comments and emits what it read", () =>
    Effect.gen(function*() {
      const src = [
        "# top",
        "db:",
        "    user: eve # line comment",
        "    # before password",
        "    password: secret",
        "    # end of db",
        "port: 5432",
        "ratio: 0.5",
        "on: true",
        "tags:",
        "    - a",
        "    # between",
        "    - b",
        ""
      ].join("\n")
      const [b] = yield* parsePlain(src, "yaml")
      if (b === undefined) throw new Error("no branch")
      const { out } = yield* roundTrip([b], "yaml")
      expect(out).toEqual([b])
      expect(toPlain(b)).toEqual({
        db: { user: "eve", password: "secret" },
        port: 5432n,
        ratio: 0.5,
        on: true,
        tags: ["a", "b"]
      })
    }))

  it.effect("strings a go-yaml reader could misread are double-quoted (lastmodified too, as sops writes it)", () =>
    Effect.gen(function*() {
      const input = branchFromPlain({
        x_unencrypted: { a: "yes", b: "0b101", c: "2024-01-01", d: "1_000", e: "~", f: "plain" }
      })
      const { text, out } = yield* roundTrip([input], "yaml")
      expect(out).toEqual([input])
      for (const q of ["a: \"yes\"", "b: \"0b101\"", "c: \"2024-01-01\"", "d: \"1_000\"", "e: \"~\"", "f: plain"]) {
        expect(text).toContain(q)
      }
      expect(text).toMatch(/\n {4}lastmodified: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\n/)
    }))

  it.effect("comments keep their collection through parse → emit → parse (nested sequences too)", () =>
    Effect.gen(function*() {
      const src = "list:\n    - a\n    # trailing in list\nother:\n    - - x\n      # inner nested\n      - y\n" +
        "    # outer end\nlast: 1\n# doc end\n"
      const parsed = yield* parsePlain(src, "yaml")
      expect(parsed).toEqual([
        branch([
          entry("list", sequence(["a", comment(" trailing in list")])),
          entry("other", sequence([sequence(["x", comment(" inner nested"), "y"]), comment(" outer end")])),
          entry("last", 1n),
          comment(" doc end")
        ])
      ])
      const { emitYaml } = yield* Effect.promise(() => import("../../../src/secrets/sops/yamlCodec.js"))
      expect(yield* parsePlain(emitYaml(parsed), "yaml")).toEqual(parsed)
      const { out } = yield* roundTrip(parsed, "yaml")
      expect(out).toEqual(parsed)
    }))

  it.effect("an empty YAML input still yields a document with metadata", () =>
    Effect.gen(function*() {
      const empty = yield* parsePlain("", "yaml")
      expect(empty).toEqual([])
      const { text, out } = yield* roundTrip(empty, "yaml")
      expect(text).toMatch(/^sops:\n/)
      expect(out).toEqual([branch([])])
    }))

  it.effect("multi-document YAML: one branch per document, one MAC over all", () =>
    Effect.gen(function*() {
      const docs = [branchFromPlain({ a: "1" }), branchFromPlain({ b: "2" })]
      const { text, out } = yield* roundTrip(docs, "yaml")
      expect(out).toEqual(docs)
      expect(text.split("\n---\n")).toHaveLength(2)
    }))

  it.effect("encrypted_suffix, unencrypted_regex, encrypted_regex and mac_only_encrypted", () =>
    Effect.gen(function*() {
      // values contain '-', which never occurs in base64, so they cannot appear by chance
      const [S, P, T] = ["S-ONE", "P-ONE", "T-ONE"] as const
      const input = branchFromPlain({ pw_secret: S, plain: P, token: T })
      const variants: ReadonlyArray<readonly [EncryptionRules, ReadonlyArray<string>, ReadonlyArray<string>]> = [
        [{ encryptedSuffix: "_secret" }, [S], [P, T]],
        [{ unencryptedRegex: "^plain$" }, [S, T], [P]],
        [{ encryptedRegex: "^(token|pw_.*)$" }, [S, T], [P]],
        [{ encryptedRegex: "^token$", macOnlyEncrypted: true }, [T], [S, P]]
      ]
      for (const [rules, hidden, visible] of variants) {
        const { text, out } = yield* roundTrip([input], "yaml", rules)
        expect(out).toEqual([input])
        for (const h of hidden) expect(text).not.toContain(h)
        for (const v of visible) expect(text).toContain(v)
      }
    }))

  it.effect("mac_only_encrypted: editing an unencrypted value is not detected, editing the set of encrypted ones is", () =>
    Effect.gen(function*() {
      const { identity, text } = yield* roundTrip(
        [branchFromPlain({ token: "t1", plain: "p1" })],
        "yaml",
        { encryptedRegex: "^token$", macOnlyEncrypted: true }
      )
      expect(Either.isRight(yield* Effect.either(decryptDocument(text.replace("p1", "p2"), "yaml", [identity]))))
        .toBe(true)
      const withoutToken = text.split("\n").filter((l) => !l.startsWith("token:")).join("\n")
      const r = yield* Effect.either(decryptDocument(withoutToken, "yaml", [identity]))
      expect(Either.isLeft(r) && r.left._tag).toBe("denia/secrets/SopsMacMismatch")
    }))

  it.effect("removing a value is a MAC mismatch", () =>
    Effect.gen(function*() {
      const { identity, text } = yield* roundTrip([branchFromPlain({ a: "1", b: "2" })], "yaml")
      const r = yield* Effect.either(
        decryptDocument(text.split("\n").filter((l) => !l.startsWith("b:")).join("\n"), "yaml", [identity])
      )
      expect(Either.isLeft(r) && r.left._tag).toBe("denia/secrets/SopsMacMismatch")
    }))

  it.effect("another identity cannot open the data key → SopsDataKeyError", () =>
    Effect.gen(function*() {
      const { text } = yield* roundTrip([branchFromPlain({ a: "1" })], "yaml")
      const other = yield* keys
      const r = yield* Effect.either(decryptDocument(text, "yaml", [other.identity]))
      expect(Either.isLeft(r) && r.left._tag).toBe("denia/secrets/SopsDataKeyError")
    }))

  it.effect("aliases are expanded, but an alias bomb is a SopsFormatError", () =>
    Effect.gen(function*() {
      const [b] = yield* parsePlain("base: &b {user: eve}\ncopy: *b\n", "yaml")
      expect(b && toPlain(b)).toEqual({ base: { user: "eve" }, copy: { user: "eve" } })
      const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
      for (let i = 1; i < 9; i++) {
        const prev = `*a${i - 1}`
        lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => prev).join(", ")}]`)
      }
      const r = yield* Effect.either(parsePlain(lines.join("\n") + "\n", "yaml"))
      expect(Either.isLeft(r) && r.left._tag).toBe("denia/secrets/SopsFormatError")
    }))

  it.effect("rejects a top-level `sops` key and sequence documents", () =>
    Effect.gen(function*() {
      const { recipient } = yield* keys
      const r1 = yield* Effect.either(
        encryptDocument([branchFromPlain({ sops: "x" })], "yaml", { recipients: [recipient] })
      )
      expect(Either.isLeft(r1) && r1.left._tag).toBe("denia/secrets/SopsFormatError")
      const r2 = yield* Effect.either(parsePlain("- a\n- b\n", "yaml"))
      expect(Either.isLeft(r2) && r2.left._tag).toBe("denia/secrets/SopsFormatError")
    }))
})

describe("SOPS JSON round trip", () => {
  it.effect("every JSON value type, key order (integer-like keys too) and 64-bit ints survive", () =>
    Effect.gen(function*() {
      const src = `{"b": "x", "2": "two", "1": 1, "big": 9223372036854775807, "f": 1.0, "e": 1e-7, "t": true,
        "n": null, "empty": "", "arr": [1, "s", {"k": false}], "obj": {"z": "last", "a": "first"},
        "note_unencrypted": "clear"}`
      const [b] = yield* parsePlain(src, "json")
      if (b === undefined) throw new Error("no branch")
      expect(b.items.map((i) => (i._tag === "Entry" ? i.key : "#"))).toEqual([
        "b",
        "2",
        "1",
        "big",
        "f",
        "e",
        "t",
        "n",
        "empty",
        "arr",
        "obj",
        "note_unencrypted"
      ])
      const { text, out } = yield* roundTrip([b], "json")
      expect(out).toEqual([b])
      const parsed = JSON.parse(text) as Record<string, unknown>
      expect(parsed["note_unencrypted"]).toBe("clear")
      expect(parsed["n"]).toBeNull()
      expect(parsed["empty"]).toBe("")
      expect(String(parsed["big"])).toMatch(/^ENC\[AES256_GCM,.*type:int\]$/)
      expect(String(parsed["f"])).toMatch(/type:float\]$/)
      expect(Object.keys(parsed["sops"] as object)).toEqual(["age", "lastmodified", "mac", "unencrypted_suffix", "version"])
    }))

  it.effect("tampering with a JSON value after our own encryption → typed errors", () =>
    Effect.gen(function*() {
      const { identity, text } = yield* roundTrip([branchFromPlain({ a: "secret", b_unencrypted: "x" })], "json")
      const r1 = yield* Effect.either(decryptDocument(text.replace("\"x\"", "\"y\""), "json", [identity]))
      expect(Either.isLeft(r1) && r1.left._tag).toBe("denia/secrets/SopsMacMismatch")
      const r2 = yield* Effect.either(decryptDocument(text.replace(/"a": "ENC\[[^"]*"/, "\"a\": \"plain\""), "json", [identity]))
      expect(Either.isLeft(r2) && r2.left._tag).toBe("denia/secrets/SopsDecryptError")
    }))

  it.effect("invalid JSON is a SopsFormatError", () =>
    Effect.gen(function*() {
      for (const bad of ["[1]", "{\"a\": }", "{\"a\": 1} x", "{\"a\": \"\\q\"}"]) {
        const r = yield* Effect.either(parsePlain(bad, "json"))
        expect(Either.isLeft(r) && r.left._tag).toBe("denia/secrets/SopsFormatError")
      }
    }))

  it.effect("decryptWithDataKey works on our own output with the fixed key", () =>
    Effect.gen(function*() {
      const { recipient } = yield* keys
      const dataKey = new Uint8Array(32).fill(1)
      const input = branchFromPlain({ k: "v" })
      const text = yield* encryptDocument([input], "json", { recipients: [recipient], dataKey })
      expect(yield* decryptWithDataKey(yield* parseEncryptedDocument(text, "json"), dataKey)).toEqual([input])
    }))
})
