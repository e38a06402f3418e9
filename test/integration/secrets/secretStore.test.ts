import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { parse as parseYamlLib } from "yaml"
import { isSafeSecretId, SecretStore } from "../../../src/secrets/SecretStore.js"
import { makeTempDir } from "../../unit/secrets/helpers.js"

const mode = (p: string) => fs.statSync(p).mode & 0o777

/** Runs `f` against a store on a fresh temp data dir; the dir is removed afterwards. */
const withStore = <A, E>(f: (ctx: { dataDir: string; keyFile: string }) => Effect.Effect<A, E, SecretStore>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => makeTempDir("denia-store-")),
    (dir) => {
      const dataDir = path.join(dir, "data")
      const keyFile = path.join(dir, "etc", "age.key")
      return f({ dataDir, keyFile }).pipe(
        Effect.provide(SecretStore.layer({ dataDir, ageKeyFile: keyFile }).pipe(Layer.provide(NodeFileSystem.layer)))
      )
    },
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

const allFiles = (dir: string): Array<string> => fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).map((p) => path.join(dir, p))

describe("SecretStore", () => {
  it.effect("put → get → exists → delete for a single value and a value map", () =>
    withStore(() =>
      Effect.gen(function*() {
        const store = yield* SecretStore
        const r1 = yield* store.put("proj1", "s3cr3t-value")
        const r2 = yield* store.put("proj1", { username: "robot", password: "p@ss: word\nline2", empty: "" })
        expect(r1).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        expect(r1).not.toBe(r2)
        expect(yield* store.get("proj1", r1)).toBe("s3cr3t-value")
        expect(yield* store.get("proj1", r2)).toEqual({ username: "robot", password: "p@ss: word\nline2", empty: "" })
        expect(yield* store.exists("proj1", r1)).toBe(true)
        expect([...(yield* store.list("proj1"))].sort()).toEqual([r1, r2].sort())
        expect(yield* store.delete("proj1", r1)).toBe(true)
        expect(yield* store.delete("proj1", r1)).toBe(false)
        expect(yield* store.exists("proj1", r1)).toBe(false)
        const missing = yield* Effect.either(store.get("proj1", r1))
        expect(Either.isLeft(missing) && missing.left._tag).toBe("denia/secrets/SecretNotFound")
        // another project does not see it
        expect(yield* store.exists("proj2", r2)).toBe(false)
      })
    ))

  it.effect("replace keeps the ref; replacing a missing ref is SecretNotFound", () =>
    withStore(() =>
      Effect.gen(function*() {
        const store = yield* SecretStore
        const ref = yield* store.put("p", { a: "1" })
        yield* store.replace("p", ref, { a: "2", b: "3" })
        expect(yield* store.get("p", ref)).toEqual({ a: "2", b: "3" })
        const r = yield* Effect.either(store.replace("p", "0190f5c2-0000-7000-8000-000000000000", "x"))
        expect(Either.isLeft(r) && r.left._tag).toBe("denia/secrets/SecretNotFound")
      })
    ))

  it.effect("files are 0600 SOPS YAML under <dataDir>/secrets/<project>/<ref>.sops.yaml, dirs 0700, no temp files", () =>
    withStore(({ dataDir, keyFile }) =>
      Effect.gen(function*() {
        const store = yield* SecretStore
        const refs = yield* Effect.forEach(
          Array.from({ length: 5 }, (_, i) => i),
          (i) => store.put("projA", { TOKEN: `tok-${i}-PLAINTEXT` }),
          { concurrency: 5 }
        )
        const ref = refs[0] ?? ""
        yield* store.replace("projA", ref, { TOKEN: "rotated-PLAINTEXT" })
        const file = path.join(dataDir, "secrets", "projA", `${ref}.sops.yaml`)
        expect(fs.existsSync(file)).toBe(true)
        expect(mode(file)).toBe(0o600)
        expect(mode(path.join(dataDir, "secrets"))).toBe(0o700)
        expect(mode(path.join(dataDir, "secrets", "projA"))).toBe(0o700)
        expect(mode(keyFile)).toBe(0o600)
        const files = allFiles(path.join(dataDir, "secrets"))
        expect(files.filter((f) => f.endsWith(".tmp") || path.basename(f).startsWith("."))).toEqual([])
        expect(files.filter((f) => f.endsWith(".sops.yaml"))).toHaveLength(5)
        for (const f of files.filter((x) => x.endsWith(".sops.yaml"))) {
          expect(mode(f)).toBe(0o600)
          expect(fs.readFileSync(f, "utf8")).not.toContain("PLAINTEXT")
        }
        const doc = parseYamlLib(fs.readFileSync(file, "utf8")) as {
          data: Record<string, string>
          sops: Record<string, unknown>
        }
        expect(doc.data["TOKEN"]).toMatch(/^ENC\[AES256_GCM,data:.+,type:str\]$/)
        expect(doc.sops["encrypted_regex"]).toBe("^(value|data)$")
        expect(doc.sops["version"]).toBe("3.10.2")
      })
    ))

  it.effect("a name ending in _unencrypted is still encrypted", () =>
    withStore(({ dataDir }) =>
      Effect.gen(function*() {
        const store = yield* SecretStore
        const ref = yield* store.put("p", { API_KEY_unencrypted: "NOT-IN-CLEAR" })
        expect(fs.readFileSync(path.join(dataDir, "secrets", "p", `${ref}.sops.yaml`), "utf8")).not.toContain(
          "NOT-IN-CLEAR"
        )
        expect(yield* store.get("p", ref)).toEqual({ API_KEY_unencrypted: "NOT-IN-CLEAR" })
      })
    ))

  it.effect("the real age CLI opens the data key of a stored secret with the host key file", () =>
    withStore(({ dataDir, keyFile }) =>
      Effect.gen(function*() {
        const store = yield* SecretStore
        const ref = yield* store.put("p", "v")
        const doc = parseYamlLib(fs.readFileSync(path.join(dataDir, "secrets", "p", `${ref}.sops.yaml`), "utf8")) as {
          sops: { age: Array<{ recipient: string; enc: string }> }
        }
        expect(doc.sops.age[0]?.recipient).toBe(store.recipient)
        const key = execFileSync("age", ["-d", "-i", keyFile], { input: doc.sops.age[0]?.enc ?? "" })
        expect(key.length).toBe(32)
      })
    ))

  it.effect("a tampered file fails with a typed error and returns nothing", () =>
    withStore(({ dataDir }) =>
      Effect.gen(function*() {
        const store = yield* SecretStore
        const ref = yield* store.put("p", { user: "USER-PLAIN-VALUE", pass: "PASS-PLAIN-VALUE" })
        const file = path.join(dataDir, "secrets", "p", `${ref}.sops.yaml`)
        const text = fs.readFileSync(file, "utf8")
        const tag = /pass: ENC\[[^\]]*tag:([A-Za-z0-9+/=]+)/.exec(text)?.[1] ?? ""
        const flipped = Buffer.from(tag, "base64")
        flipped[0] = (flipped[0] ?? 0) ^ 0x80
        fs.writeFileSync(file, text.replace(tag, flipped.toString("base64")))
        const r = yield* Effect.either(store.get("p", ref))
        expect(Either.isLeft(r) && r.left._tag).toBe("denia/secrets/SopsDecryptError")
        // the error names the path, never a value
        if (Either.isLeft(r)) {
          expect(`${JSON.stringify(r.left)} ${r.left.message} ${String(r.left)}`).toContain("data:pass:")
          expect(`${JSON.stringify(r.left)} ${r.left.message} ${String(r.left)}`).not.toContain("PLAIN-VALUE")
        }
        // removing an entry is caught by the MAC
        fs.writeFileSync(file, text.split("\n").filter((l) => !l.includes("user: ENC")).join("\n"))
        const r2 = yield* Effect.either(store.get("p", ref))
        expect(Either.isLeft(r2) && r2.left._tag).toBe("denia/secrets/SopsMacMismatch")
        if (Either.isLeft(r2)) expect(`${JSON.stringify(r2.left)} ${r2.left.message}`).not.toContain("PLAIN-VALUE")
      })
    ))

  it.effect("unsafe project ids, refs and names are rejected before touching the disk", () =>
    withStore(({ dataDir }) =>
      Effect.gen(function*() {
        const store = yield* SecretStore
        for (const bad of ["", "..", "../x", "a/b", ".hidden", "-x", "a b", "x".repeat(129)]) {
          expect(isSafeSecretId(bad)).toBe(false)
          const r1 = yield* Effect.either(store.put(bad, "v"))
          expect(Either.isLeft(r1) && r1.left._tag).toBe("denia/secrets/InvalidSecretId")
          const r2 = yield* Effect.either(store.get("p", bad))
          expect(Either.isLeft(r2) && r2.left._tag).toBe("denia/secrets/InvalidSecretId")
          const r3 = yield* Effect.either(store.delete("p", bad))
          expect(Either.isLeft(r3) && r3.left._tag).toBe("denia/secrets/InvalidSecretId")
        }
        const r4 = yield* Effect.either(store.put("p", { "": "v" }))
        expect(Either.isLeft(r4) && r4.left._tag).toBe("denia/secrets/InvalidSecretId")
        expect(fs.readdirSync(path.join(dataDir, "secrets"))).toEqual([])
      })
    ))

  it.effect("secrets survive a restart with the same key file; deleteProject removes them", () =>
    Effect.acquireUseRelease(
      Effect.sync(() => makeTempDir("denia-store-restart-")),
      (dir) =>
        Effect.gen(function*() {
          const layer = SecretStore.layer({ dataDir: path.join(dir, "d"), ageKeyFile: path.join(dir, "k") }).pipe(
            Layer.provide(NodeFileSystem.layer)
          )
          const ref = yield* Effect.flatMap(SecretStore, (s) => s.put("p", "persisted")).pipe(Effect.provide(layer))
          const value = yield* Effect.flatMap(SecretStore, (s) => s.get("p", ref)).pipe(Effect.provide(layer))
          expect(value).toBe("persisted")
          yield* Effect.flatMap(SecretStore, (s) => s.deleteProject("p")).pipe(Effect.provide(layer))
          expect(fs.existsSync(path.join(dir, "d", "secrets", "p"))).toBe(false)
        }),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    ))

  it.effect("SecretStore.layerTest is a self-contained layer for other subsystems", () =>
    Effect.gen(function*() {
      const store = yield* SecretStore
      const ref = yield* store.put("other-subsystem", { k: "v" })
      expect(yield* store.get("other-subsystem", ref)).toEqual({ k: "v" })
      expect(store.recipient).toMatch(/^age1/)
    }).pipe(Effect.provide(SecretStore.layerTest)))
})
