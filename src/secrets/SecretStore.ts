/**
 * SecretStore: encrypted-at-rest secrets addressed by (project, ref).
 *
 * Each secret is one SOPS YAML file, `<dataDir>/secrets/<projectId>/<ref>.sops.yaml`
 * (file 0600, directories 0700, written atomically), encrypted to the host's
 * age recipient. Refs are minted here (UUIDv7) and are the only handle callers
 * keep; plaintext leaves only through `get`.
 *
 * Document layout (readable with `sops -d` and the host key file):
 *
 *     value: ENC[...]          # a single secret value, or
 *     data:                    # a named set of values
 *         username: ENC[...]
 *         password: ENC[...]
 *     sops: { age: [...], encrypted_regex: ^(value|data)$, ... }
 *
 * `encrypted_regex` (rather than sops' default `_unencrypted` suffix) makes
 * sure a caller-chosen name such as `TOKEN_unencrypted` is still encrypted.
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import type { PlatformError } from "@effect/platform/Error"
import { Context, Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import { ensureDirectory, TEMP_SUFFIX, writeFileAtomic } from "../platform/atomicWrite.js"
import { type AgeIdentity, loadOrCreateAgeIdentity } from "./ageIdentity.js"
import {
  type AgeIdentityError,
  InvalidSecretId,
  SecretNotFound,
  SecretStoreIoError,
  SopsFormatError,
  type SopsReadError,
  type SopsWriteError
} from "./errors.js"
import { decryptDocument, encryptDocument } from "./sops/document.js"
import { branch, entry, isBranch, lookup, type SopsBranch, type SopsEntry } from "./sops/tree.js"

/** What the daemon passes in (mapped from config `data_dir`, `age_key_file`, `age_recipient`). */
export interface SecretStoreOptions {
  readonly dataDir: string
  readonly ageKeyFile: string
  readonly ageRecipient?: string | undefined
}

/** A single value, or a set of named values (e.g. `{ username, password }`). */
export type SecretPayload = string | { readonly [name: string]: string }

export type SecretStoreError =
  | InvalidSecretId
  | SecretNotFound
  | SecretStoreIoError
  | SopsReadError
  | SopsWriteError

export interface SecretStoreApi {
  /** The age recipient new secrets are encrypted to. */
  readonly recipient: string
  /** Encrypts and stores a payload under a freshly minted ref. */
  readonly put: (
    projectId: string,
    payload: SecretPayload
  ) => Effect.Effect<string, InvalidSecretId | SecretStoreIoError | SopsWriteError>
  /** Replaces the payload of an existing ref (atomic). */
  readonly replace: (
    projectId: string,
    ref: string,
    payload: SecretPayload
  ) => Effect.Effect<void, InvalidSecretId | SecretNotFound | SecretStoreIoError | SopsWriteError>
  /** Decrypts a secret (MAC verified). */
  readonly get: (
    projectId: string,
    ref: string
  ) => Effect.Effect<SecretPayload, InvalidSecretId | SecretNotFound | SecretStoreIoError | SopsReadError>
  /** Removes a secret; `false` when it did not exist. */
  readonly delete: (projectId: string, ref: string) => Effect.Effect<boolean, InvalidSecretId | SecretStoreIoError>
  readonly exists: (projectId: string, ref: string) => Effect.Effect<boolean, InvalidSecretId | SecretStoreIoError>
  /** Refs stored for a project (any order). */
  readonly list: (projectId: string) => Effect.Effect<ReadonlyArray<string>, InvalidSecretId | SecretStoreIoError>
  /** Removes every secret of a project. */
  readonly deleteProject: (projectId: string) => Effect.Effect<void, InvalidSecretId | SecretStoreIoError>
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/
export const FILE_SUFFIX = ".sops.yaml"
const ENCRYPTED_REGEX = "^(value|data)$"

/** True for strings usable as a project id or ref path component. */
export const isSafeSecretId = (s: string): boolean => SAFE_ID.test(s)

const checkId = (field: "projectId" | "ref", s: string): Effect.Effect<string, InvalidSecretId> =>
  isSafeSecretId(s)
    ? Effect.succeed(s)
    : Effect.fail(
      new InvalidSecretId({ field, reason: "must be 1-128 characters of A-Z a-z 0-9 _ - and start alphanumeric" })
    )

/** A UUIDv7 (time-ordered, 74 random bits). */
export const mintSecretRef = (): string => {
  const b = randomBytes(16)
  const ms = Date.now()
  b.writeUIntBE(ms, 0, 6)
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80
  const h = b.toString("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

const payloadToBranch = (payload: SecretPayload): Effect.Effect<SopsBranch, InvalidSecretId> => {
  if (typeof payload === "string") return Effect.succeed(branch([entry("value", payload)]))
  const items: Array<SopsEntry> = []
  for (const [name, value] of Object.entries(payload)) {
    if (name === "" || name.length > 1024 || /[\u0000-\u001f\u007f]/.test(name)) {
      return Effect.fail(new InvalidSecretId({ field: "key", reason: "names must be 1-1024 printable characters" }))
    }
    if (typeof value !== "string") {
      return Effect.fail(new InvalidSecretId({ field: "key", reason: "values must be strings" }))
    }
    items.push(entry(name, value))
  }
  return Effect.succeed(branch([entry("data", branch(items))]))
}

const branchToPayload = (b: SopsBranch): Effect.Effect<SecretPayload, SopsFormatError> => {
  const value = lookup(b, "value")
  if (typeof value === "string") return Effect.succeed(value)
  const data = lookup(b, "data")
  if (data !== undefined && data !== null && typeof data === "object" && !(data instanceof Uint8Array) && isBranch(data)) {
    const out: { [name: string]: string } = {}
    for (const item of data.items) {
      if (item._tag !== "Entry") continue
      if (typeof item.value !== "string") {
        return Effect.fail(new SopsFormatError({ reason: "secret values must be strings" }))
      }
      Object.defineProperty(out, item.key, { value: item.value, enumerable: true, writable: true, configurable: true })
    }
    return Effect.succeed(out)
  }
  return Effect.fail(new SopsFormatError({ reason: "a secret document holds `value` or `data`" }))
}

const isNotFound = (e: PlatformError): boolean => e._tag === "SystemError" && e.reason === "NotFound"

/** Builds the store from options: loads (or creates) the age identity and the secrets root. */
export const makeSecretStore = (
  options: SecretStoreOptions
): Effect.Effect<SecretStoreApi, AgeIdentityError | SecretStoreIoError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const identity: AgeIdentity = yield* loadOrCreateAgeIdentity({
      keyFile: options.ageKeyFile,
      recipient: options.ageRecipient
    })
    const root = path.join(path.resolve(options.dataDir), "secrets")
    const ioError = (p: string) => (e: PlatformError) => new SecretStoreIoError({ path: p, reason: e.message, cause: e })
    yield* ensureDirectory(root, 0o700, true).pipe(Effect.mapError(ioError(root)))

    const projectDir = (projectId: string) => path.join(root, projectId)
    const fileOf = (projectId: string, ref: string) => path.join(root, projectId, ref + FILE_SUFFIX)
    const provide = <A, E>(eff: Effect.Effect<A, E, FileSystem.FileSystem>) => Effect.provideService(eff, FileSystem.FileSystem, fs)

    const write = (projectId: string, ref: string, payload: SecretPayload) =>
      Effect.gen(function*() {
        const doc = yield* payloadToBranch(payload)
        const text = yield* encryptDocument([doc], "yaml", {
          recipients: [identity.recipient],
          rules: { encryptedRegex: ENCRYPTED_REGEX }
        })
        const dir = projectDir(projectId)
        yield* provide(ensureDirectory(dir, 0o700, true)).pipe(Effect.mapError(ioError(dir)))
        const file = fileOf(projectId, ref)
        yield* provide(writeFileAtomic(file, Buffer.from(text, "utf8"), { mode: 0o600 })).pipe(
          Effect.mapError(ioError(file))
        )
      })

    const exists = (projectId: string, ref: string) =>
      Effect.gen(function*() {
        yield* checkId("projectId", projectId)
        yield* checkId("ref", ref)
        const file = fileOf(projectId, ref)
        return yield* fs.exists(file).pipe(Effect.mapError(ioError(file)))
      })

    const api: SecretStoreApi = {
      recipient: identity.recipient,

      put: (projectId, payload) =>
        Effect.gen(function*() {
          yield* checkId("projectId", projectId)
          const ref = mintSecretRef()
          yield* write(projectId, ref, payload)
          return ref
        }).pipe(Effect.withSpan("SecretStore.put", { attributes: { projectId } })),

      replace: (projectId, ref, payload) =>
        Effect.gen(function*() {
          if (!(yield* exists(projectId, ref))) return yield* new SecretNotFound({ projectId, ref })
          yield* write(projectId, ref, payload)
        }).pipe(Effect.withSpan("SecretStore.replace", { attributes: { projectId, ref } })),

      get: (projectId, ref) =>
        Effect.gen(function*() {
          yield* checkId("projectId", projectId)
          yield* checkId("ref", ref)
          const file = fileOf(projectId, ref)
          const text = yield* fs.readFileString(file, "utf8").pipe(
            Effect.mapError((e) => (isNotFound(e) ? new SecretNotFound({ projectId, ref }) : ioError(file)(e)))
          )
          const branches = yield* decryptDocument(text, "yaml", identity.identities)
          const [only, ...rest] = branches
          if (only === undefined || rest.length > 0) {
            return yield* new SopsFormatError({ reason: "a secret file holds exactly one document" })
          }
          return yield* branchToPayload(only)
        }).pipe(Effect.withSpan("SecretStore.get", { attributes: { projectId, ref } })),

      delete: (projectId, ref) =>
        Effect.gen(function*() {
          yield* checkId("projectId", projectId)
          yield* checkId("ref", ref)
          const file = fileOf(projectId, ref)
          return yield* fs.remove(file).pipe(
            Effect.as(true),
            Effect.catchIf(isNotFound, () => Effect.succeed(false)),
            Effect.mapError(ioError(file))
          )
        }),

      exists,

      list: (projectId) =>
        Effect.gen(function*() {
          yield* checkId("projectId", projectId)
          const dir = projectDir(projectId)
          const names = yield* fs.readDirectory(dir).pipe(
            Effect.catchIf(isNotFound, () => Effect.succeed<Array<string>>([])),
            Effect.mapError(ioError(dir))
          )
          return names
            .filter((n) => n.endsWith(FILE_SUFFIX) && !n.endsWith(TEMP_SUFFIX))
            .map((n) => n.slice(0, -FILE_SUFFIX.length))
            .filter(isSafeSecretId)
        }),

      deleteProject: (projectId) =>
        Effect.gen(function*() {
          yield* checkId("projectId", projectId)
          const dir = projectDir(projectId)
          yield* fs.remove(dir, { recursive: true }).pipe(
            Effect.catchIf(isNotFound, () => Effect.void),
            Effect.mapError(ioError(dir))
          )
        })
    }
    return api
  })

/** Encrypted-at-rest secrets (see the module comment). */
export class SecretStore extends Context.Tag("denia/secrets/SecretStore")<SecretStore, SecretStoreApi>() {
  /** Production layer; the daemon maps config to options and provides a FileSystem. */
  static readonly layer = (
    options: SecretStoreOptions
  ): Layer.Layer<SecretStore, AgeIdentityError | SecretStoreIoError, FileSystem.FileSystem> =>
    Layer.effect(SecretStore, makeSecretStore(options))

  /**
   * Self-contained test layer: a fresh temp data dir with its own age key file
   * (removed when the layer's scope closes). For other subsystems' tests.
   */
  static readonly layerTest: Layer.Layer<SecretStore, AgeIdentityError | SecretStoreIoError> = Layer.scoped(
    SecretStore,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "denia-secrets-" }).pipe(
        Effect.mapError((e) => new SecretStoreIoError({ path: "tmpdir", reason: e.message, cause: e }))
      )
      return yield* makeSecretStore({ dataDir: path.join(dir, "data"), ageKeyFile: path.join(dir, "age", "key.txt") })
    })
  ).pipe(Layer.provide(NodeFileSystem.layer))
}
