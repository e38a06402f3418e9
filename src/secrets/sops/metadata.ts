/**
 * The `sops` block: which master keys hold the data key (Denia reads and
 * writes only `age` entries), when the document was last written, the
 * encrypted MAC, the encryption rule, and the sops format version.
 */
import { Effect } from "effect"
import { SopsFormatError, SopsUnsupported } from "../errors.js"
import {
  branch,
  entry,
  isBranch,
  isComment,
  isSequence,
  lookup,
  sequence,
  type SopsBranch,
  type SopsEntry,
  type SopsValue
} from "./tree.js"
import { DEFAULT_UNENCRYPTED_SUFFIX, type EncryptionRules } from "./walk.js"

/** The sops release whose file format Denia writes (the `version` field names a format level, not Denia's version). */
export const SOPS_FORMAT_VERSION = "3.10.2"

export const METADATA_KEY = "sops"

export interface AgeRecipientEntry {
  readonly recipient: string
  /** ASCII-armored age file whose plaintext is the 32-byte data key. */
  readonly enc: string
}

export interface SopsMetadata {
  readonly age: ReadonlyArray<AgeRecipientEntry>
  /** RFC 3339, normalized as Go's `time.Format(time.RFC3339)` renders it; the MAC's additional data. */
  readonly lastModified: string
  /** The encrypted MAC (`ENC[...]`). */
  readonly mac: string
  readonly rules: EncryptionRules
  readonly version: string
  /** Names of other master-key kinds present (pgp, kms, ...), which Denia cannot use. */
  readonly otherKeyKinds: ReadonlyArray<string>
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

/** Re-renders an RFC 3339 timestamp the way Go formats a parsed one: no fraction, `Z` for UTC. */
export const normalizeLastModified = (s: string): string | undefined => {
  const m = RFC3339.exec(s)
  if (m === null) return undefined
  const zone = m[4] === "+00:00" || m[4] === "-00:00" ? "Z" : m[4]
  return `${m[1]}T${m[2]}${zone}`
}

/** The current time as sops writes `lastmodified`. */
export const formatLastModified = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z")

const str = (b: SopsBranch, key: string): string | undefined => {
  const v = lookup(b, key)
  return typeof v === "string" ? v : undefined
}

const present = (v: SopsValue | undefined): boolean =>
  v !== undefined && v !== null && v !== "" && !(isSequence(v) && v.items.length === 0) && !(isBranch(v) && v.items.length === 0)

const KEY_KINDS = ["kms", "gcp_kms", "azure_kv", "hc_vault", "hckms", "pgp"] as const

const parseAgeEntries = (v: SopsValue | undefined): Effect.Effect<ReadonlyArray<AgeRecipientEntry>, SopsFormatError> => {
  if (v === undefined || v === null) return Effect.succeed([])
  if (!isSequence(v)) return Effect.fail(new SopsFormatError({ reason: "sops.age is not a list" }))
  const out: Array<AgeRecipientEntry> = []
  for (const item of v.items) {
    if (isComment(item)) continue
    if (item === null || typeof item !== "object" || item instanceof Uint8Array || !isBranch(item)) {
      return Effect.fail(new SopsFormatError({ reason: "sops.age entry is not a mapping" }))
    }
    const recipient = str(item, "recipient")
    const enc = str(item, "enc")
    if (recipient === undefined || enc === undefined) {
      return Effect.fail(new SopsFormatError({ reason: "sops.age entry needs recipient and enc" }))
    }
    out.push({ recipient, enc })
  }
  return Effect.succeed(out)
}

/** Reads the `sops` block. */
export const parseMetadata = (
  value: SopsValue | undefined
): Effect.Effect<SopsMetadata, SopsFormatError | SopsUnsupported> =>
  Effect.gen(function*() {
    if (value === undefined) return yield* new SopsFormatError({ reason: "sops metadata not found" })
    if (value === null || typeof value !== "object" || value instanceof Uint8Array || !isBranch(value)) {
      return yield* new SopsFormatError({ reason: "sops metadata is not a mapping" })
    }
    const m = value
    for (const unsupported of ["unencrypted_comment_regex", "encrypted_comment_regex"]) {
      if (present(lookup(m, unsupported))) return yield* new SopsUnsupported({ feature: unsupported })
    }
    let age = yield* parseAgeEntries(lookup(m, "age"))
    const otherKeyKinds: Array<string> = KEY_KINDS.filter((k) => present(lookup(m, k)))
    const groups = lookup(m, "key_groups")
    if (groups !== undefined && present(groups)) {
      if (
        groups === null || typeof groups !== "object" || groups instanceof Uint8Array || !isSequence(groups) ||
        groups.items.filter((g) => !isComment(g)).length !== 1
      ) {
        return yield* new SopsUnsupported({ feature: "key_groups (Shamir secret sharing)" })
      }
      const group = groups.items.find((g) => !isComment(g))
      if (group === undefined || group === null || typeof group !== "object" || group instanceof Uint8Array || !isBranch(group)) {
        return yield* new SopsFormatError({ reason: "sops.key_groups entry is not a mapping" })
      }
      age = [...age, ...(yield* parseAgeEntries(lookup(group, "age")))]
      for (const k of KEY_KINDS) if (present(lookup(group, k))) otherKeyKinds.push(k)
    }
    const rawLastModified = str(m, "lastmodified")
    if (rawLastModified === undefined) return yield* new SopsFormatError({ reason: "sops.lastmodified missing" })
    const lastModified = normalizeLastModified(rawLastModified)
    if (lastModified === undefined) return yield* new SopsFormatError({ reason: "sops.lastmodified is not RFC 3339" })
    const mac = str(m, "mac")
    if (mac === undefined || mac === "") return yield* new SopsFormatError({ reason: "sops.mac missing" })
    const version = str(m, "version")
    if (version === undefined) return yield* new SopsFormatError({ reason: "sops.version missing" })

    const unencryptedSuffix = str(m, "unencrypted_suffix") || undefined
    const encryptedSuffix = str(m, "encrypted_suffix") || undefined
    const unencryptedRegex = str(m, "unencrypted_regex") || undefined
    const encryptedRegex = str(m, "encrypted_regex") || undefined
    const ruleCount = [unencryptedSuffix, encryptedSuffix, unencryptedRegex, encryptedRegex].filter((r) => r !== undefined)
      .length
    if (ruleCount > 1) {
      return yield* new SopsFormatError({
        reason: "only one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex may be set"
      })
    }
    for (const re of [unencryptedRegex, encryptedRegex]) {
      if (re !== undefined) {
        yield* Effect.try({
          try: () => new RegExp(re),
          catch: () => new SopsFormatError({ reason: "sops encryption regex does not compile" })
        })
      }
    }
    const macOnly = lookup(m, "mac_only_encrypted")
    const rules: EncryptionRules = {
      unencryptedSuffix: ruleCount === 0 ? DEFAULT_UNENCRYPTED_SUFFIX : unencryptedSuffix,
      encryptedSuffix,
      unencryptedRegex,
      encryptedRegex,
      macOnlyEncrypted: macOnly === true
    }
    return { age, lastModified, mac, rules, version, otherKeyKinds }
  })

/** Renders the `sops` block in the field order sops uses. */
export const metadataToBranch = (md: SopsMetadata): SopsBranch => {
  const items: Array<SopsEntry> = []
  if (md.age.length > 0) {
    items.push(
      entry("age", sequence(md.age.map((a) => branch([entry("recipient", a.recipient), entry("enc", a.enc)]))))
    )
  }
  items.push(entry("lastmodified", md.lastModified), entry("mac", md.mac))
  const r = md.rules
  if (r.unencryptedSuffix) items.push(entry("unencrypted_suffix", r.unencryptedSuffix))
  if (r.encryptedSuffix) items.push(entry("encrypted_suffix", r.encryptedSuffix))
  if (r.unencryptedRegex) items.push(entry("unencrypted_regex", r.unencryptedRegex))
  if (r.encryptedRegex) items.push(entry("encrypted_regex", r.encryptedRegex))
  if (r.macOnlyEncrypted === true) items.push(entry("mac_only_encrypted", true))
  items.push(entry("version", md.version))
  return branch(items)
}

/** Splits a top-level branch into its data entries and the `sops` block (if any). */
export const splitMetadata = (b: SopsBranch): { readonly data: SopsBranch; readonly metadata: SopsValue | undefined } => {
  let metadata: SopsValue | undefined
  const items = b.items.filter((item) => {
    if (item._tag === "Entry" && item.key === METADATA_KEY) {
      metadata ??= item.value
      return false
    }
    return true
  })
  return { data: branch(items), metadata }
}

/** Validates user-supplied rules: at most one, regexes compile. Defaults to sops' `_unencrypted` suffix. */
export const normalizeRules = (rules: EncryptionRules | undefined): Effect.Effect<EncryptionRules, SopsFormatError> =>
  Effect.gen(function*() {
    const r = rules ?? {}
    const set = [r.unencryptedSuffix, r.encryptedSuffix, r.unencryptedRegex, r.encryptedRegex].filter((x) => x)
    if (set.length > 1) {
      return yield* new SopsFormatError({ reason: "at most one encryption rule (suffix or regex) may be given" })
    }
    for (const re of [r.unencryptedRegex, r.encryptedRegex]) {
      if (re) {
        yield* Effect.try({
          try: () => new RegExp(re),
          catch: () => new SopsFormatError({ reason: "encryption regex does not compile" })
        })
      }
    }
    return set.length === 0 ? { unencryptedSuffix: DEFAULT_UNENCRYPTED_SUFFIX, macOnlyEncrypted: r.macOnlyEncrypted } : r
  })
