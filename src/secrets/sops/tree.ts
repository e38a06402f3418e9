/**
 * The in-memory document model, shaped like the one sops walks: an ordered
 * mapping ("branch") of entries and comments, ordered sequences, and scalar
 * leaves. Order matters: the MAC covers values in document order.
 *
 * Scalar types map onto sops' value types:
 *   string → str, bigint → int, number → float, boolean → bool,
 *   Uint8Array → bytes (read-only in practice), SopsComment → comment,
 *   null → left alone (never encrypted, never in the MAC).
 */

export interface SopsComment {
  readonly _tag: "Comment"
  /** Comment text without the leading `#`, exactly as sops keeps it (a leading space stays). */
  readonly text: string
}

export type SopsScalar = string | bigint | number | boolean | Uint8Array | null

export interface SopsEntry {
  readonly _tag: "Entry"
  readonly key: string
  readonly value: SopsValue
}

export interface SopsBranch {
  readonly _tag: "Branch"
  readonly items: ReadonlyArray<SopsEntry | SopsComment>
}

export interface SopsSequence {
  readonly _tag: "Sequence"
  readonly items: ReadonlyArray<SopsValue | SopsComment>
}

export type SopsValue = SopsScalar | SopsBranch | SopsSequence

/** What the cipher encrypts: a non-null scalar or a comment. */
export type SopsLeaf = Exclude<SopsScalar, null> | SopsComment

export const comment = (text: string): SopsComment => ({ _tag: "Comment", text })
export const entry = (key: string, value: SopsValue): SopsEntry => ({ _tag: "Entry", key, value })
export const branch = (items: ReadonlyArray<SopsEntry | SopsComment>): SopsBranch => ({ _tag: "Branch", items })
export const sequence = (items: ReadonlyArray<SopsValue | SopsComment>): SopsSequence => ({ _tag: "Sequence", items })

export const isComment = (u: unknown): u is SopsComment =>
  typeof u === "object" && u !== null && !(u instanceof Uint8Array) && (u as { _tag?: unknown })._tag === "Comment"

export const isBranch = (u: SopsValue | SopsComment): u is SopsBranch =>
  typeof u === "object" && u !== null && !(u instanceof Uint8Array) && u._tag === "Branch"

export const isSequence = (u: SopsValue | SopsComment): u is SopsSequence =>
  typeof u === "object" && u !== null && !(u instanceof Uint8Array) && u._tag === "Sequence"

/** Builds a branch from a plain object (insertion order kept); nested objects become branches, arrays sequences. */
export type PlainValue =
  | string
  | bigint
  | number
  | boolean
  | null
  | Uint8Array
  | ReadonlyArray<PlainValue>
  | { readonly [key: string]: PlainValue }

export const fromPlain = (value: PlainValue): SopsValue => {
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return value
  if (Array.isArray(value)) return sequence(value.map(fromPlain))
  const items: Array<SopsEntry> = []
  for (const [k, v] of Object.entries(value)) items.push(entry(k, fromPlain(v)))
  return branch(items)
}

export const branchFromPlain = (value: { readonly [key: string]: PlainValue }): SopsBranch =>
  branch(Object.entries(value).map(([k, v]) => entry(k, fromPlain(v))))

/** Drops comments and converts to plain JS values (objects keep document order of string keys). */
export const toPlain = (value: SopsValue): PlainValue => {
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return value
  if (value._tag === "Sequence") {
    const out: Array<PlainValue> = []
    for (const item of value.items) if (!isComment(item)) out.push(toPlain(item))
    return out
  }
  const out: { [key: string]: PlainValue } = {}
  for (const item of value.items) {
    if (item._tag !== "Entry") continue
    // defineProperty: a key named `__proto__` stays an ordinary own property
    Object.defineProperty(out, item.key, { value: toPlain(item.value), enumerable: true, writable: true, configurable: true })
  }
  return out
}

/** The value under a top-level key of a branch, if any. */
export const lookup = (b: SopsBranch, key: string): SopsValue | undefined => {
  for (const item of b.items) if (item._tag === "Entry" && item.key === key) return item.value
  return undefined
}
