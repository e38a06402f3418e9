/**
 * YAML text ⇄ SOPS tree, following the sops YAML store:
 *
 * - every document in a stream is one branch; each must be a mapping (or empty);
 * - each comment line becomes a comment item of the mapping or sequence that
 *   holds it (sops encrypts it with that collection's path). Own-line
 *   comments belong to the collection at whose level they sit; the comment
 *   of a scalar value (before it or on its line) belongs to the mapping or
 *   sequence holding the value;
 * - aliases are expanded in place (sops reads the node an alias points to);
 *   `<<` is an ordinary key, as in sops;
 * - output uses a 4-space indent with indented sequences, like sops.
 */
import { Effect } from "effect"
import { Document, isAlias, isMap, isPair, isScalar, isSeq, type Node, Pair, parseAllDocuments, Scalar, YAMLMap, YAMLSeq } from "yaml"
import { SopsFormatError } from "../errors.js"
import { branch, comment, entry, isComment, sequence, type SopsBranch, type SopsComment, type SopsEntry, type SopsValue } from "./tree.js"

class YamlShapeError extends Error {}

const budgets = new WeakMap<Document, Budget>()

const commentLines = (text: string | null | undefined): Array<SopsComment> =>
  text === null || text === undefined || text === ""
    ? []
    : text.split("\n").filter((line) => line !== "").map(comment)

const scalarValue = (node: Scalar): SopsValue => {
  const v: unknown = node.value
  if (v === null || v === undefined) return null
  if (typeof v === "string" || typeof v === "bigint" || typeof v === "boolean") return v
  if (typeof v === "number") return v
  if (v instanceof Uint8Array) return v
  return String(node.source ?? v)
}

const keyString = (node: unknown): string => {
  if (isScalar(node) && typeof node.value === "string") return node.value
  throw new YamlShapeError("only string keys are supported")
}

/** Expanding aliases can multiply a small text into a huge tree ("billion laughs"); cap the work. */
const MAX_NODES = 200_000
const MAX_DEPTH = 256

interface Budget {
  nodes: number
}

/**
 * `headHandled`: the comment before this node was already attributed to the
 * enclosing sequence (sops puts a sequence item's head comment in the list).
 */
const toValue = (node: unknown, doc: Document, depth: number, headHandled = false): SopsValue => {
  if (depth > MAX_DEPTH) throw new YamlShapeError("document nests too deeply")
  const budget = budgets.get(doc)
  if (budget !== undefined && ++budget.nodes > MAX_NODES) throw new YamlShapeError("document expands to too many nodes")
  if (node === null || node === undefined) return null
  if (isAlias(node)) return toValue(node.resolve(doc), doc, depth + 1)
  if (isScalar(node)) return scalarValue(node)
  if (isMap(node)) return toBranch(node, doc, depth + 1, headHandled)
  if (isSeq(node)) {
    const items: Array<SopsValue | SopsComment> = headHandled ? [] : [...commentLines(node.commentBefore)]
    for (const item of node.items) {
      const leaf = isScalar(item) || isAlias(item) || item === null
      if (isScalar(item) || isMap(item) || isSeq(item) || isAlias(item)) items.push(...commentLines(item.commentBefore))
      if (leaf && item !== null) items.push(...commentLines(item.comment))
      items.push(toValue(item, doc, depth + 1, true))
    }
    items.push(...commentLines(node.comment))
    return sequence(items)
  }
  throw new YamlShapeError("unsupported YAML node")
}

const toBranch = (node: YAMLMap, doc: Document, depth: number, headHandled = false): SopsBranch => {
  const items: Array<SopsEntry | SopsComment> = headHandled ? [] : [...commentLines(node.commentBefore)]
  for (const pair of node.items) {
    if (!isPair(pair)) throw new YamlShapeError("unsupported mapping item")
    const keyNode: unknown = pair.key
    const key = keyString(keyNode)
    if (isScalar(keyNode)) items.push(...commentLines(keyNode.commentBefore), ...commentLines(keyNode.comment))
    const value: unknown = pair.value
    if (isScalar(value) || isAlias(value)) items.push(...commentLines(value.commentBefore), ...commentLines(value.comment))
    items.push(entry(key, toValue(value, doc, depth)))
  }
  items.push(...commentLines(node.comment))
  return branch(items)
}

const documentToBranch = (doc: Document): SopsBranch => {
  const leading = commentLines(doc.commentBefore)
  const trailing = commentLines(doc.comment)
  const contents: unknown = doc.contents
  let body: SopsBranch
  if (contents === null || contents === undefined || (isScalar(contents) && contents.value === null)) {
    body = branch([])
  } else if (isMap(contents)) {
    body = toBranch(contents, doc, 0)
  } else if (isAlias(contents)) {
    const target = contents.resolve(doc)
    if (!isMap(target)) throw new YamlShapeError("YAML documents must be mappings")
    body = toBranch(target, doc, 0)
  } else if (isSeq(contents)) {
    throw new YamlShapeError("YAML documents that are sequences are not supported")
  } else {
    throw new YamlShapeError("YAML documents that are values are not supported")
  }
  return branch([...leading, ...body.items, ...trailing])
}

/** Parses a YAML stream into one branch per document. */
export const parseYaml = (text: string): Effect.Effect<ReadonlyArray<SopsBranch>, SopsFormatError> =>
  Effect.try({
    try: () => {
      const docs = parseAllDocuments(text, { intAsBigInt: true, prettyErrors: false })
      if (!Array.isArray(docs)) return []
      const out: Array<SopsBranch> = []
      for (const doc of docs) {
        const first = doc.errors[0]
        if (first !== undefined) throw new YamlShapeError(`invalid YAML (${first.code})`)
        budgets.set(doc, { nodes: 0 })
        out.push(documentToBranch(doc))
      }
      return out
    },
    catch: (e) => new SopsFormatError({ reason: e instanceof YamlShapeError ? e.message : "invalid YAML", cause: e })
  })

// ---------------------------------------------------------------------------
// Emission

/**
 * Strings a YAML 1.1-leaning reader (sops uses go-yaml v3) could resolve as
 * something else — booleans like `yes`/`on`, nulls, numbers with `_` or
 * `0b`/`0o` prefixes, timestamps — are written double-quoted, so sops reads
 * back exactly the string we encrypted or MAC'd.
 */
const AMBIGUOUS = new RegExp(
  [
    "^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
    "^(~|null|Null|NULL)$",
    "^[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(\\.[0-9_]*)?([eE][-+]?[0-9]+)?|\\.[0-9_]+([eE][-+]?[0-9]+)?)$",
    "^[-+]?\\.(inf|Inf|INF)$|^\\.(nan|NaN|NAN)$",
    "^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \\t]+|$)"
  ].join("|")
)

const stringNode = (s: string): Scalar => {
  const node = new Scalar(s)
  if (AMBIGUOUS.test(s)) node.type = Scalar.QUOTE_DOUBLE
  return node
}

const scalarNode = (v: Exclude<SopsValue, SopsBranch | { readonly _tag: "Sequence" }>): Scalar => {
  if (typeof v === "string") return stringNode(v)
  if (v instanceof Uint8Array) {
    const s = new Scalar(Buffer.from(v).toString("base64"))
    s.tag = "tag:yaml.org,2002:binary"
    return s
  }
  const s = new Scalar(v)
  // floats that happen to be integral keep a fraction so they read back as floats
  if (typeof v === "number" && Number.isInteger(v)) s.minFractionDigits = 1
  return s
}

const joinComments = (cs: ReadonlyArray<SopsComment>): string | undefined => cs.length === 0 ? undefined : cs.map((c) => c.text).join("\n")

const toNode = (v: SopsValue): Node => {
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return scalarNode(v)
  if (v._tag === "Branch") return toMap(v)
  const seq = new YAMLSeq()
  let pending: Array<SopsComment> = []
  for (const item of v.items) {
    if (isComment(item)) {
      pending.push(item)
      continue
    }
    const node = toNode(item)
    const before = joinComments(pending)
    if (before !== undefined) node.commentBefore = before
    pending = []
    seq.items.push(node)
  }
  const trailing = joinComments(pending)
  if (trailing !== undefined) seq.comment = trailing
  return seq
}

const toMap = (b: SopsBranch): YAMLMap => {
  const map = new YAMLMap()
  let pending: Array<SopsComment> = []
  for (const item of b.items) {
    if (item._tag === "Comment") {
      pending.push(item)
      continue
    }
    const key = stringNode(item.key)
    const before = joinComments(pending)
    if (before !== undefined) key.commentBefore = before
    pending = []
    map.items.push(new Pair(key, toNode(item.value)))
  }
  const trailing = joinComments(pending)
  if (trailing !== undefined) map.comment = trailing
  return map
}

/** Emits branches as a YAML stream (one document per branch). */
export const emitYaml = (branches: ReadonlyArray<SopsBranch>): string =>
  branches
    .map((b, i) => {
      const doc = new Document()
      const map = toMap(b)
      // a branch with only comments has no key to hang them on
      if (map.items.length === 0 && map.comment) {
        doc.comment = map.comment
        map.comment = null
      }
      doc.contents = map
      const text = doc.toString({ indent: 4, indentSeq: true, lineWidth: 0, minContentWidth: 0 })
      return i === 0 ? text : `---\n${text}`
    })
    .join("")
