/**
 * Whole-document operations: encrypt a plaintext tree into a SOPS YAML/JSON
 * document for age recipients, and decrypt one back — MAC verified before
 * anything is returned.
 */
import { Effect } from "effect"
import { SopsDecryptError, SopsEncryptError, SopsFormatError, SopsMacMismatch, type SopsReadError, type SopsWriteError } from "../errors.js"
import { generateDataKey, unwrapDataKey, wrapDataKey } from "./dataKey.js"
import { emitJson, parseJson } from "./jsonCodec.js"
import { macEquals } from "./mac.js"
import {
  formatLastModified,
  metadataToBranch,
  normalizeRules,
  parseMetadata,
  SOPS_FORMAT_VERSION,
  type SopsMetadata,
  splitMetadata
} from "./metadata.js"
import { branch, entry, type SopsBranch } from "./tree.js"
import { decryptLeaf, encryptLeaf } from "./valueCipher.js"
import { decryptBranches, encryptBranches, type EncryptionRules } from "./walk.js"
import { emitYaml, parseYaml } from "./yamlCodec.js"

export type SopsFormat = "yaml" | "json"

/** An encrypted document split into its (still encrypted) data and its metadata. */
export interface EncryptedDocument {
  readonly branches: ReadonlyArray<SopsBranch>
  readonly metadata: SopsMetadata
}

export interface EncryptOptions {
  /** age recipients (`age1...`); at least one. */
  readonly recipients: ReadonlyArray<string>
  /** Defaults to sops' `unencrypted_suffix: _unencrypted`. */
  readonly rules?: EncryptionRules | undefined
  /** Fixed data key (tests); a fresh random key otherwise. */
  readonly dataKey?: Uint8Array | undefined
  /** `lastmodified` (tests); now otherwise. */
  readonly now?: Date | undefined
}

/** Parses plaintext YAML (all documents) or JSON into branches. */
export const parsePlain = (
  text: string,
  format: SopsFormat
): Effect.Effect<ReadonlyArray<SopsBranch>, SopsFormatError> =>
  format === "yaml" ? parseYaml(text) : Effect.map(parseJson(text), (b) => [b])

/** Emits plaintext branches as YAML or JSON. */
export const emitPlain = (branches: ReadonlyArray<SopsBranch>, format: SopsFormat): Effect.Effect<string, SopsFormatError> => {
  if (format === "yaml") return Effect.succeed(emitYaml(branches))
  const [only, ...rest] = branches
  if (only === undefined || rest.length > 0) {
    return Effect.fail(new SopsFormatError({ reason: "a JSON document holds exactly one object" }))
  }
  return Effect.succeed(emitJson(only))
}

/** Splits an encrypted YAML/JSON text into data branches and parsed metadata (nothing decrypted yet). */
export const parseEncryptedDocument = (
  text: string,
  format: SopsFormat
): Effect.Effect<EncryptedDocument, SopsFormatError | SopsReadError> =>
  Effect.gen(function*() {
    const raw = yield* parsePlain(text, format)
    if (raw.length === 0) return yield* new SopsFormatError({ reason: "sops metadata not found" })
    const split = raw.map(splitMetadata)
    const metadata = yield* parseMetadata(split[0]?.metadata)
    return { branches: split.map((s) => s.data), metadata }
  })

/** Decrypts every value and checks the MAC; fails without partial output. */
export const decryptWithDataKey = (
  doc: EncryptedDocument,
  dataKey: Uint8Array
): Effect.Effect<ReadonlyArray<SopsBranch>, SopsReadError> =>
  Effect.gen(function*() {
    const { branches, mac } = yield* decryptBranches(doc.branches, dataKey, doc.metadata.rules)
    const stored = yield* decryptLeaf(doc.metadata.mac, dataKey, doc.metadata.lastModified).pipe(
      Effect.mapError((e) => new SopsDecryptError({ path: "sops:mac", reason: e.reason, cause: e }))
    )
    if (typeof stored !== "string") {
      return yield* new SopsDecryptError({ path: "sops:mac", reason: "the MAC is not a string value" })
    }
    if (!macEquals(stored, mac)) return yield* new SopsMacMismatch()
    return branches
  })

/** Decrypts a SOPS YAML/JSON text with the given age identities. */
export const decryptDocument = (
  text: string,
  format: SopsFormat,
  identities: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<SopsBranch>, SopsReadError> =>
  Effect.gen(function*() {
    const doc = yield* parseEncryptedDocument(text, format)
    const dataKey = yield* unwrapDataKey(doc.metadata.age, identities)
    return yield* decryptWithDataKey(doc, dataKey)
  })

/** Encrypts plaintext branches into a SOPS document text (YAML: one document per branch; JSON: exactly one). */
export const encryptDocument = (
  branches: ReadonlyArray<SopsBranch>,
  format: SopsFormat,
  options: EncryptOptions
): Effect.Effect<string, SopsWriteError> =>
  Effect.gen(function*() {
    if (options.recipients.length === 0) {
      return yield* new SopsEncryptError({ path: "sops:age", reason: "at least one age recipient is required" })
    }
    // an empty YAML stream still becomes one (empty) document carrying the metadata
    if (format === "yaml" && branches.length === 0) branches = [branch([])]
    if (format === "json" && branches.length !== 1) {
      return yield* new SopsFormatError({ reason: "a JSON document holds exactly one object" })
    }
    for (const b of branches) {
      if (b.items.some((i) => i._tag === "Entry" && i.key === "sops")) {
        return yield* new SopsFormatError({ reason: "the top-level key `sops` is reserved for metadata" })
      }
    }
    const rules = yield* normalizeRules(options.rules)
    const dataKey = options.dataKey ?? (yield* generateDataKey())
    const lastModified = formatLastModified(options.now ?? new Date())
    const encrypted = yield* encryptBranches(branches, dataKey, rules)
    const mac = yield* encryptLeaf(encrypted.mac, dataKey, lastModified)
    const age = yield* Effect.forEach(options.recipients, (r) => wrapDataKey(dataKey, r))
    const metadata = metadataToBranch({
      age,
      lastModified,
      mac,
      rules,
      version: SOPS_FORMAT_VERSION,
      otherKeyKinds: []
    })
    const withMetadata = encrypted.branches.map((b) => branch([...b.items, entry("sops", metadata)]))
    return format === "yaml" ? emitYaml(withMetadata) : emitJson(withMetadata[0] ?? branch([]))
  })
