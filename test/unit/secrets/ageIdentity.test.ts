import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { generateX25519Identity, identityToRecipient } from "age-encryption"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { loadOrCreateAgeIdentity, parseAgeKeyFile } from "../../../src/secrets/ageIdentity.js"
import { makeTempDir } from "./helpers.js"

const withTemp = <A, E>(f: (dir: string) => Effect.Effect<A, E, never>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => makeTempDir("denia-age-")),
    f,
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

const load = (keyFile: string, recipient?: string) =>
  loadOrCreateAgeIdentity({ keyFile, recipient }).pipe(Effect.provide(NodeFileSystem.layer))

describe("age host identity", () => {
  it.effect("creates a 0600 key file in a new 0700 directory, in age-keygen format", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const keyFile = path.join(dir, "keys", "nested", "age.txt")
        const id = yield* load(keyFile)
        expect(id.created).toBe(true)
        expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600)
        expect(fs.statSync(path.dirname(keyFile)).mode & 0o777).toBe(0o700)
        expect(fs.statSync(path.join(dir, "keys")).mode & 0o777).toBe(0o700)
        const lines = fs.readFileSync(keyFile, "utf8").split("\n")
        expect(lines[0]).toMatch(/^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
        expect(lines[1]).toBe(`# public key: ${id.recipient}`)
        expect(lines[2]).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+$/)
        expect(lines[3]).toBe("")
        expect(id.recipient).toBe(yield* Effect.promise(() => identityToRecipient(lines[2] ?? "")))
        // no temp files left next to it
        expect(fs.readdirSync(path.dirname(keyFile))).toEqual(["age.txt"])
      })
    ))

  it.effect("never overwrites an existing key file", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const keyFile = path.join(dir, "age.txt")
        const first = yield* load(keyFile)
        const before = fs.readFileSync(keyFile, "utf8")
        const second = yield* load(keyFile)
        expect(second.created).toBe(false)
        expect(second.recipient).toBe(first.recipient)
        expect(fs.readFileSync(keyFile, "utf8")).toBe(before)
      })
    ))

  it.effect("loads a key file written elsewhere (several identities, comments, CRLF)", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const a = yield* Effect.promise(() => generateX25519Identity())
        const b = yield* Effect.promise(() => generateX25519Identity())
        const keyFile = path.join(dir, "keys.txt")
        fs.writeFileSync(keyFile, `# created: whenever\r\n${a}\r\n\r\n# second\r\n${b}\r\n`, { mode: 0o600 })
        const id = yield* load(keyFile)
        expect(id.identities).toEqual([a, b])
        expect(id.recipient).toBe(yield* Effect.promise(() => identityToRecipient(a)))
      })
    ))

  it.effect("an explicit recipient wins over the derived one", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const other = yield* Effect.promise(async () => identityToRecipient(await generateX25519Identity()))
        const id = yield* load(path.join(dir, "age.txt"), other)
        expect(id.recipient).toBe(other)
        expect(id.ownRecipients).not.toContain(other)
      })
    ))

  it.effect("an invalid explicit recipient or key file is an AgeIdentityError that does not echo the file", () =>
    withTemp((dir) =>
      Effect.gen(function*() {
        const r1 = yield* Effect.either(load(path.join(dir, "age.txt"), "age1notarecipient"))
        expect(Either.isLeft(r1) && r1.left._tag).toBe("denia/secrets/AgeIdentityError")
        const bad = path.join(dir, "bad.txt")
        fs.writeFileSync(bad, "TOPSECRETGARBAGE\n", { mode: 0o600 })
        const r2 = yield* Effect.either(load(bad))
        if (Either.isRight(r2)) throw new Error("loaded garbage")
        expect(r2.left._tag).toBe("denia/secrets/AgeIdentityError")
        expect(JSON.stringify(r2.left)).not.toContain("TOPSECRETGARBAGE")
        const corrupt = path.join(dir, "corrupt.txt")
        fs.writeFileSync(corrupt, "AGE-SECRET-KEY-1NOTVALID\n", { mode: 0o600 })
        const r3 = yield* Effect.either(load(corrupt))
        expect(Either.isLeft(r3) && r3.left._tag).toBe("denia/secrets/AgeIdentityError")
      })
    ))

  it("parseAgeKeyFile needs at least one identity", () => {
    expect(parseAgeKeyFile("# only comments\n")).toEqual({ error: "no age identity in the file" })
  })
})
