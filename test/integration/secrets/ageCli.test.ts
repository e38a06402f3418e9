/**
 * Interop with the real `age` CLI (Debian package `age`, listed in
 * .ci/apt-packages): what Denia writes opens with `age -d -i <keyfile>`, and
 * what `age` writes opens in Denia.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { parse as parseYamlLib } from "yaml"
import { loadOrCreateAgeIdentity } from "../../../src/secrets/ageIdentity.js"
import {
  branchFromPlain,
  decryptDocument,
  decryptWithDataKey,
  encryptDocument,
  parseEncryptedDocument,
  toPlain
} from "../../../src/secrets/sops/index.js"
import { makeTempDir } from "../../unit/secrets/helpers.js"

const ageBinary = (name: "age" | "age-keygen"): string => {
  for (const dir of (process.env["PATH"] ?? "/usr/bin").split(":")) {
    const p = path.join(dir, name)
    if (fs.existsSync(p)) return p
  }
  throw new Error(`${name} not found on PATH: install the Debian package \`age\` (listed in .ci/apt-packages)`)
}

const withIdentity = <A, E>(
  f: (ctx: { dir: string; keyFile: string; identities: ReadonlyArray<string>; recipient: string }) => Effect.Effect<A, E>
) =>
  Effect.acquireUseRelease(
    Effect.sync(() => makeTempDir("denia-agecli-")),
    (dir) =>
      Effect.gen(function*() {
        const keyFile = path.join(dir, "host", "age.key")
        const id = yield* loadOrCreateAgeIdentity({ keyFile }).pipe(Effect.provide(NodeFileSystem.layer))
        return yield* f({ dir, keyFile, identities: id.identities, recipient: id.recipient })
      }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

describe("real age CLI", () => {
  it.effect("age-keygen -y reads our key file and derives the same recipient", () =>
    withIdentity(({ keyFile, recipient }) =>
      Effect.sync(() => {
        const out = execFileSync(ageBinary("age-keygen"), ["-y", keyFile], { encoding: "utf8" })
        expect(out.trim()).toBe(recipient)
      })
    ))

  it.effect("age -d -i <keyfile> decrypts the armored data key we write, and that key opens the document", () =>
    withIdentity(({ recipient, keyFile }) =>
      Effect.gen(function*() {
        const dataKey = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff)
        const input = branchFromPlain({ password: "hunter2", nested: { token: "abc" } })
        const text = yield* encryptDocument([input], "yaml", { recipients: [recipient], dataKey })
        const sops = (parseYamlLib(text) as { sops: { age: Array<{ recipient: string; enc: string }> } }).sops
        expect(sops.age[0]?.recipient).toBe(recipient)
        const enc = sops.age[0]?.enc ?? ""
        const recovered = execFileSync(ageBinary("age"), ["-d", "-i", keyFile], { input: enc })
        expect(new Uint8Array(recovered)).toEqual(dataKey)
        const out = yield* decryptWithDataKey(yield* parseEncryptedDocument(text, "yaml"), new Uint8Array(recovered))
        expect(out.map(toPlain)).toEqual([{ password: "hunter2", nested: { token: "abc" } }])
      })
    ))

  it.effect("a data key armored by `age -r <recipient> -a` opens in Denia", () =>
    withIdentity(({ recipient, identities }) =>
      Effect.gen(function*() {
        const dataKey = new Uint8Array(32).fill(0x5a)
        const text = yield* encryptDocument([branchFromPlain({ k: "v" })], "yaml", { recipients: [recipient], dataKey })
        const fromCli = execFileSync(ageBinary("age"), ["-r", recipient, "-a"], { input: Buffer.from(dataKey) })
          .toString("utf8")
        expect(fromCli).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n/)
        // swap our envelope for the CLI's, keep YAML block indentation
        const lines = text.split("\n")
        const start = lines.findIndex((l) => l.includes("-----BEGIN AGE ENCRYPTED FILE-----"))
        const end = lines.findIndex((l) => l.includes("-----END AGE ENCRYPTED FILE-----"))
        const indent = (lines[start] ?? "").match(/^ */)?.[0] ?? ""
        const replaced = [
          ...lines.slice(0, start),
          ...fromCli.trimEnd().split("\n").map((l) => indent + l),
          ...lines.slice(end + 1)
        ].join("\n")
        const out = yield* decryptDocument(replaced, "yaml", identities)
        expect(out.map(toPlain)).toEqual([{ k: "v" }])
      })
    ))
})
