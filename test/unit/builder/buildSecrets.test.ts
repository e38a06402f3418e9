/**
 * Build secrets (ADR 0806) and token-kind `FROM` credentials: the source field's rules, the secret files
 * buildah gets (0600 in a private 0700 directory, gone after the build), the masks of the build output,
 * and the auth.json entries of every credential kind (containers-auth.json(5)).
 */
import { Effect, Either, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { authEntry, authFileJson, credentialSecrets } from "../../../src/builder/buildAuth.js"
import { redact } from "../../../src/builder/buildOutput.js"
import { acquireBuildSecretFiles, secretMasks } from "../../../src/builder/buildSecrets.js"
import { buildSecretsOf, ServiceSource } from "../../../src/domain/service.js"

const decodeSource = Schema.decodeUnknownEither(ServiceSource)
const problem = (input: unknown) => Either.match(decodeSource(input), { onLeft: (e) => String(e), onRight: () => undefined })

describe("source.buildSecrets", () => {
  it("takes DNS-label ids naming service secrets, on upload and git sources", () => {
    const upload = decodeSource({ type: "upload", buildSecrets: [{ id: "npm-token", secret: "NPM_TOKEN" }] })
    expect(Either.isRight(upload) && buildSecretsOf(upload.right)).toEqual([{ id: "npm-token", secret: "NPM_TOKEN" }])
    const git = decodeSource({ type: "git", url: "https://example.com/a.git", buildSecrets: [{ id: "tok", secret: "T" }] })
    expect(Either.isRight(git) && buildSecretsOf(git.right)).toEqual([{ id: "tok", secret: "T" }])
    const image = decodeSource({ type: "image", image: "busybox" })
    expect(Either.isRight(image) && buildSecretsOf(image.right)).toEqual([])
  })

  it("refuses ids that are no DNS label (buildah's `id=…,src=…` syntax included), repeated ids and bad names", () => {
    for (const id of ["", "Tok", "-tok", "tok-", "a,src=/etc/shadow", "a=b", "a/b", "x".repeat(64)]) {
      expect(problem({ type: "upload", buildSecrets: [{ id, secret: "T" }] }), id).toContain("must be a DNS label")
    }
    expect(problem({ type: "upload", buildSecrets: [{ id: "a", secret: "T" }, { id: "a", secret: "U" }] })).toContain(
      "repeats the id of buildSecrets[0]"
    )
    expect(problem({ type: "upload", buildSecrets: [{ id: "a", secret: "1BAD" }] })).toContain("environment variable name")
    expect(problem({ type: "upload", buildSecrets: [{ id: "a", secret: "T", value: "inline" }] })).toContain("value")
    const many = Array.from({ length: 17 }, (_, i) => ({ id: `s${i}`, secret: "T" }))
    expect(problem({ type: "upload", buildSecrets: many })).toContain("at most 16 build secrets")
  })
})

describe("build secret files", () => {
  it("writes each value 0600 into a private directory, passes it as --secret id=…,src=… and removes it with the scope", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "denia-bsec-"))
    try {
      let seen: { args: ReadonlyArray<string>; dir: string } | undefined
      await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const files = yield* acquireBuildSecretFiles(root, [{ id: "tok", value: "s3cr3t-value" }, { id: "two", value: "x\ny" }])
        expect(files.args).toHaveLength(4)
        expect(files.args[0]).toBe("--secret")
        const m = /^id=tok,src=(.+)$/.exec(files.args[1] ?? "")
        expect(m).not.toBeNull()
        const file = m?.[1] ?? ""
        expect(fs.readFileSync(file, "utf8")).toBe("s3cr3t-value")
        expect(fs.statSync(file).mode & 0o777).toBe(0o600)
        expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700)
        expect(path.basename(file)).not.toContain("tok")
        seen = { args: files.args, dir: path.dirname(file) }
      })))
      expect(seen).toBeDefined()
      expect(fs.existsSync(seen?.dir ?? "")).toBe(false)
    } finally {
      fs.rmSync(root, { recursive: true, force: true })
    }
  })

  it("adds nothing without secrets", async () => {
    const files = await Effect.runPromise(Effect.scoped(acquireBuildSecretFiles("/nonexistent/never-created", [])))
    expect(files).toEqual({ args: [], masks: [] })
  })

  it("masks a value wherever it appears, and each longer line of a multi-line value", () => {
    const masks = secretMasks([{ id: "a", value: "token-123456" }, { id: "k", value: "-----BEGIN KEY-----\nAAAABBBBCCCC\nab\n" }])
    expect(redact("echo token-123456 done", masks)).toBe("echo *** done")
    expect(redact("AAAABBBBCCCC", masks)).toBe("***")
    // short lines of a multi-line value are not masked on their own (they would hide ordinary words)
    expect(redact("ab", masks)).toBe("ab")
  })
})

describe("FROM credentials in auth.json", () => {
  it("username/password kinds as auth; token kinds as identitytoken with the <token> user; anonymous not at all", () => {
    expect(authEntry({ kind: "basic", username: "u", password: "p" })).toEqual({ auth: Buffer.from("u:p").toString("base64") })
    expect(authEntry({ kind: "bearer", token: "tkn" })).toEqual({
      auth: Buffer.from("<token>:tkn").toString("base64"),
      identitytoken: "tkn"
    })
    expect(authEntry({ kind: "anonymous" })).toBeUndefined()
    const file = JSON.parse(authFileJson([
      { host: "ghcr.io", credentials: { kind: "bearer", token: "tkn" } },
      { host: "reg.example:5000", credentials: { kind: "basic", username: "u", password: "p" } },
      { host: "open.example", credentials: { kind: "anonymous" } }
    ])) as { auths: Record<string, unknown> }
    expect(Object.keys(file.auths).sort()).toEqual(["ghcr.io", "reg.example:5000"])
    expect(file.auths["ghcr.io"]).toEqual({ auth: Buffer.from("<token>:tkn").toString("base64"), identitytoken: "tkn" })
  })

  it("masks the passwords and tokens in build output", () => {
    expect(credentialSecrets([
      { host: "a", credentials: { kind: "bearer", token: "tkn" } },
      { host: "b", credentials: { kind: "basic", username: "u", password: "pw" } },
      { host: "c", credentials: { kind: "anonymous" } }
    ])).toEqual(["tkn", "pw"])
  })
})
