/**
 * Tree walk: visits every leaf in document order with its key path, decides
 * whether the leaf is encrypted (sops' suffix/regex rules), encrypts or
 * decrypts it with the path as additional data, and feeds the MAC.
 *
 * Paths: each mapping key on the way down is one component; sequence items
 * share their sequence's path (no index); a comment gets the path of the
 * mapping or sequence that holds it. Additional data is the components joined
 * with ':' plus a trailing ':' (so the top level is just ":").
 */
import { Effect } from "effect"
import { SopsDecryptError, type SopsEncryptError } from "../errors.js"
import { macAccumulator } from "./mac.js"
import {
  branch,
  comment,
  entry,
  isComment,
  sequence,
  type SopsBranch,
  type SopsComment,
  type SopsEntry,
  type SopsLeaf,
  type SopsValue
} from "./tree.js"
import { decryptLeaf, encryptLeaf, looksEncrypted } from "./valueCipher.js"

/** Which values are encrypted. Mirrors the sops metadata fields of the same names. */
export interface EncryptionRules {
  readonly unencryptedSuffix?: string | undefined
  readonly encryptedSuffix?: string | undefined
  readonly unencryptedRegex?: string | undefined
  readonly encryptedRegex?: string | undefined
  readonly macOnlyEncrypted?: boolean | undefined
}

export const DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"

const regexCache = new Map<string, RegExp>()
const compiled = (source: string): RegExp => {
  let re = regexCache.get(source)
  if (re === undefined) {
    re = new RegExp(source)
    if (regexCache.size > 256) regexCache.clear()
    regexCache.set(source, re)
  }
  return re
}

/**
 * sops' decision for one path; the later rules override the earlier ones, as
 * in sops. Regexes must have been validated (metadata parsing and
 * `normalizeRules` do that).
 */
export const shouldEncrypt = (path: ReadonlyArray<string>, rules: EncryptionRules): boolean => {
  let encrypted = true
  if (rules.unencryptedSuffix) {
    const s = rules.unencryptedSuffix
    if (path.some((p) => p.endsWith(s))) encrypted = false
  }
  if (rules.encryptedSuffix) {
    const s = rules.encryptedSuffix
    encrypted = path.some((p) => p.endsWith(s))
  }
  if (rules.unencryptedRegex) {
    const re = compiled(rules.unencryptedRegex)
    if (path.some((p) => re.test(p))) encrypted = false
  }
  if (rules.encryptedRegex) {
    const re = compiled(rules.encryptedRegex)
    encrypted = path.some((p) => re.test(p))
  }
  return encrypted
}

export const additionalData = (path: ReadonlyArray<string>): string => path.join(":") + ":"

type LeafVisitor<E> = (leaf: SopsLeaf, path: ReadonlyArray<string>) => Effect.Effect<SopsLeaf | string, E>

const walkValue = <E>(
  value: SopsValue | SopsComment,
  path: ReadonlyArray<string>,
  visit: LeafVisitor<E>
): Effect.Effect<SopsValue | SopsComment, E> => {
  if (value === null) return Effect.succeed(null)
  if (typeof value !== "object" || value instanceof Uint8Array || isComment(value)) {
    return visit(value, path).pipe(
      Effect.map((out) => (isComment(value) && typeof out === "string" ? comment(out) : out))
    )
  }
  if (value._tag === "Sequence") {
    return Effect.forEach(value.items, (item) => walkValue(item, path, visit)).pipe(Effect.map(sequence))
  }
  return walkBranch(value, path, visit)
}

const walkBranch = <E>(
  b: SopsBranch,
  path: ReadonlyArray<string>,
  visit: LeafVisitor<E>
): Effect.Effect<SopsBranch, E> =>
  Effect.forEach(b.items, (item): Effect.Effect<SopsEntry | SopsComment, E> => {
    if (item._tag === "Comment") {
      return walkValue(item, path, visit).pipe(
        Effect.map((out) => (isComment(out) ? out : comment(typeof out === "string" ? out : "")))
      )
    }
    return walkValue(item.value, [...path, item.key], visit).pipe(
      Effect.map((v) => entry(item.key, isComment(v) ? v.text : v))
    )
  }).pipe(Effect.map(branch))

export interface WalkResult {
  readonly branches: ReadonlyArray<SopsBranch>
  /** Upper-case hex SHA-512 over the plaintext, as sops computes it. */
  readonly mac: string
}

/** Encrypts every leaf the rules select; returns the encrypted branches and the plaintext MAC. */
export const encryptBranches = (
  branches: ReadonlyArray<SopsBranch>,
  key: Uint8Array,
  rules: EncryptionRules
): Effect.Effect<WalkResult, SopsEncryptError> =>
  Effect.suspend(() => {
    const mac = macAccumulator(rules.macOnlyEncrypted === true)
    const visit: LeafVisitor<SopsEncryptError> = (leaf, path) => {
      const encrypted = shouldEncrypt(path, rules)
      mac.add(leaf, encrypted)
      return encrypted ? encryptLeaf(leaf, key, additionalData(path)) : Effect.succeed(leaf)
    }
    return Effect.forEach(branches, (b) => walkBranch(b, [], visit)).pipe(
      Effect.map((out) => ({ branches: out, mac: mac.digest() }))
    )
  })

/**
 * Decrypts every leaf the rules select; returns plaintext branches and the
 * MAC recomputed over them. Nothing is returned unless every value decrypts.
 *
 * Comments: one in `ENC[AES256_GCM,...]` form must authenticate (sops would
 * silently keep a comment it cannot decrypt; Denia treats that as tampering).
 * A comment in any other form is kept as plain text, as sops does for files
 * written before it encrypted comments.
 */
export const decryptBranches = (
  branches: ReadonlyArray<SopsBranch>,
  key: Uint8Array,
  rules: EncryptionRules
): Effect.Effect<WalkResult, SopsDecryptError> =>
  Effect.suspend(() => {
    const mac = macAccumulator(rules.macOnlyEncrypted === true)
    const visit: LeafVisitor<SopsDecryptError> = (leaf, path) => {
      const encrypted = shouldEncrypt(path, rules)
      const ad = additionalData(path)
      let out: Effect.Effect<SopsLeaf, SopsDecryptError>
      if (!encrypted) {
        out = Effect.succeed(leaf)
      } else if (isComment(leaf)) {
        out = looksEncrypted(leaf.text)
          ? decryptLeaf(leaf.text, key, ad).pipe(
            Effect.flatMap((v) =>
              isComment(v) || v === ""
                ? Effect.succeed(isComment(v) ? v : comment(""))
                : Effect.fail(new SopsDecryptError({ path: ad, reason: "encrypted comment holds a non-comment value" }))
            )
          )
          : Effect.succeed(leaf)
      } else if (typeof leaf === "string") {
        out = decryptLeaf(leaf, key, ad).pipe(
          Effect.flatMap((v) =>
            isComment(v)
              ? Effect.fail(new SopsDecryptError({ path: ad, reason: "value holds an encrypted comment" }))
              : Effect.succeed(v)
          )
        )
      } else {
        out = Effect.fail(new SopsDecryptError({ path: ad, reason: "expected an encrypted value, found a plain one" }))
      }
      return Effect.tap(out, (v) => Effect.sync(() => mac.add(v, encrypted)))
    }
    return Effect.forEach(branches, (b) => walkBranch(b, [], visit)).pipe(
      Effect.map((out) => ({ branches: out, mac: mac.digest() }))
    )
  })
