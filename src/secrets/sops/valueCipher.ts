/**
 * One SOPS value: AES-256-GCM under the document's data key, a random 32-byte
 * IV, the key path as additional data, serialized as
 * `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>]` (standard base64,
 * padded; the 16-byte tag is split off the ciphertext).
 */
import { Effect } from "effect"
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { SopsDecryptError, SopsEncryptError } from "../errors.js"
import { formatGoFloat, formatSopsBool, parseGoBool, parseGoFloat, parseGoInt } from "./goFormat.js"
import { comment, isComment, type SopsLeaf } from "./tree.js"

export const IV_BYTES = 32
const TAG_BYTES = 16
const KEY_BYTES = 32

export type SopsValueType = "str" | "int" | "int64" | "float" | "bool" | "bytes" | "comment"

export interface EncryptedValue {
  readonly data: Uint8Array
  readonly iv: Uint8Array
  readonly tag: Uint8Array
  readonly type: string
}

const B64 = "[A-Za-z0-9+/]*={0,2}"
const ENC_RE = new RegExp(`^ENC\\[AES256_GCM,data:(${B64}),iv:(${B64}),tag:(${B64}),type:([a-z0-9]+)\\]$`)

/** True when a string has the shape of an encrypted sops value. */
export const looksEncrypted = (s: string): boolean => s.startsWith("ENC[AES256_GCM,")

/** Parses the `ENC[...]` envelope; undefined when the text is not one. */
export const parseEncryptedValue = (s: string): EncryptedValue | undefined => {
  const m = ENC_RE.exec(s)
  if (m === null) return undefined
  const decode = (b: string | undefined): Uint8Array | undefined => {
    if (b === undefined || b.length % 4 !== 0) return undefined
    const buf = Buffer.from(b, "base64")
    // strict: reject anything that does not re-encode to the same text
    return buf.toString("base64") === b ? new Uint8Array(buf) : undefined
  }
  const data = decode(m[1])
  const iv = decode(m[2])
  const tag = decode(m[3])
  const type = m[4]
  if (data === undefined || iv === undefined || tag === undefined || type === undefined) return undefined
  return { data, iv, tag, type }
}

export const formatEncrypted = (v: EncryptedValue): string =>
  `ENC[AES256_GCM,data:${Buffer.from(v.data).toString("base64")},iv:${Buffer.from(v.iv).toString("base64")},tag:${
    Buffer.from(v.tag).toString("base64")
  },type:${v.type}]`

/** sops leaves empty strings, empty byte strings and empty comments unencrypted. */
export const isEmptyLeaf = (leaf: SopsLeaf): boolean =>
  leaf === "" || (leaf instanceof Uint8Array && leaf.length === 0) || (isComment(leaf) && leaf.text === "")

/** The plaintext bytes and type tag sops uses for a leaf. Also what the MAC hashes (for non-comments). */
export const leafBytes = (leaf: SopsLeaf): { readonly bytes: Uint8Array; readonly type: SopsValueType } => {
  if (typeof leaf === "string") return { bytes: Buffer.from(leaf, "utf8"), type: "str" }
  if (typeof leaf === "bigint") return { bytes: Buffer.from(leaf.toString(10), "utf8"), type: "int" }
  if (typeof leaf === "number") return { bytes: Buffer.from(formatGoFloat(leaf), "utf8"), type: "float" }
  if (typeof leaf === "boolean") return { bytes: Buffer.from(formatSopsBool(leaf), "utf8"), type: "bool" }
  if (leaf instanceof Uint8Array) return { bytes: leaf, type: "bytes" }
  return { bytes: Buffer.from(leaf.text, "utf8"), type: "comment" }
}

const checkKey = (key: Uint8Array): string | undefined =>
  key.length === KEY_BYTES ? undefined : `data key must be ${KEY_BYTES} bytes, got ${key.length}`

/**
 * Encrypts one leaf. Empty values come back as `""` (sops does not encrypt
 * them). `iv` is for tests; production always draws a fresh random IV.
 */
export const encryptLeaf = (
  leaf: SopsLeaf,
  key: Uint8Array,
  additionalData: string,
  iv?: Uint8Array
): Effect.Effect<string, SopsEncryptError> =>
  Effect.try({
    try: () => {
      if (isEmptyLeaf(leaf)) return ""
      const keyProblem = checkKey(key)
      if (keyProblem !== undefined) throw new Error(keyProblem)
      const nonce = iv ?? new Uint8Array(randomBytes(IV_BYTES))
      const { bytes, type } = leafBytes(leaf)
      const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES })
      cipher.setAAD(Buffer.from(additionalData, "utf8"))
      const data = Buffer.concat([cipher.update(bytes), cipher.final()])
      return formatEncrypted({ data, iv: nonce, tag: cipher.getAuthTag(), type })
    },
    catch: (e) => new SopsEncryptError({ path: additionalData, reason: e instanceof Error ? e.message : "encryption failed", cause: e })
  })

const typed = (plain: Uint8Array, type: string, path: string): Effect.Effect<SopsLeaf, SopsDecryptError> => {
  const text = Buffer.from(plain).toString("utf8")
  const fail = (reason: string) => Effect.fail(new SopsDecryptError({ path, reason }))
  switch (type) {
    case "str":
      return Effect.succeed(text)
    case "int":
    case "int64": {
      const n = parseGoInt(text)
      return n === undefined ? fail(`plaintext is not an ${type}`) : Effect.succeed(n)
    }
    case "float": {
      const n = parseGoFloat(text)
      return n === undefined ? fail("plaintext is not a float") : Effect.succeed(n)
    }
    case "bool": {
      const b = parseGoBool(text)
      return b === undefined ? fail("plaintext is not a bool") : Effect.succeed(b)
    }
    case "bytes":
      return Effect.succeed(new Uint8Array(plain))
    case "comment":
      return Effect.succeed(comment(text))
    default:
      return fail(`unknown value type ${JSON.stringify(type)}`)
  }
}

/**
 * Decrypts one `ENC[...]` value (an empty string decrypts to itself, as in
 * sops). Any authentication failure — a flipped bit in data, IV or tag, or a
 * value moved to another key path — is a `SopsDecryptError`.
 */
export const decryptLeaf = (
  ciphertext: string,
  key: Uint8Array,
  additionalData: string
): Effect.Effect<SopsLeaf, SopsDecryptError> => {
  if (ciphertext === "") return Effect.succeed("")
  const parsed = parseEncryptedValue(ciphertext)
  if (parsed === undefined) {
    return Effect.fail(new SopsDecryptError({ path: additionalData, reason: "value is not in sops ENC[AES256_GCM,...] format" }))
  }
  const keyProblem = checkKey(key)
  if (keyProblem !== undefined) return Effect.fail(new SopsDecryptError({ path: additionalData, reason: keyProblem }))
  if (parsed.tag.length !== TAG_BYTES || parsed.iv.length === 0) {
    return Effect.fail(new SopsDecryptError({ path: additionalData, reason: "malformed iv or tag" }))
  }
  return Effect.try({
    try: () => {
      const decipher = createDecipheriv("aes-256-gcm", key, parsed.iv, { authTagLength: TAG_BYTES })
      decipher.setAAD(Buffer.from(additionalData, "utf8"))
      decipher.setAuthTag(parsed.tag)
      return Buffer.concat([decipher.update(parsed.data), decipher.final()])
    },
    catch: () => new SopsDecryptError({ path: additionalData, reason: "AES-GCM authentication failed" })
  }).pipe(Effect.flatMap((plain) => typed(plain, parsed.type, additionalData)))
}
