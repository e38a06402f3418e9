/**
 * The project's build storage (ADR 0801: one containers/storage root per project under
 * `<data_dir>/builds/cache/<projectId>`, overlay driver) as the daemon reads it: which unpacked layer
 * trees it holds (ADR 0813). containers/storage records its layers in `overlay-layers/layers.json` —
 * each with its id, its parent's id and, once applied, the digest of the blob it came from
 * (`compressed-diff-digest`); a layer still being written carries the `incomplete` flag. The tree of a
 * layer is `overlay/<id>/diff`. Only read here, never written: buildah owns the storage.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"

/** Storage root and run root of `projectId`'s builds. */
export const buildStoragePaths = (buildsDir: string, projectId: string) => {
  const base = path.join(buildsDir, "cache", projectId)
  return { root: path.join(base, "root"), runRoot: path.join(base, "run") }
}

/** layers.json of a storage that holds even thousands of layers stays far below this. */
const MAX_LAYERS_JSON_BYTES = 64 * 1024 * 1024

const ID = /^[0-9a-f]{64}$/

interface StoredLayer {
  readonly id: string
  readonly parent: string | undefined
  readonly compressedDigest: string | undefined
  readonly incomplete: boolean
}

const field = (o: object, name: string): unknown => Reflect.get(o, name)

/** The layers of `layers.json`'s text that are well-formed records; anything else is left out. */
export const parseLayers = (text: string): Array<StoredLayer> => {
  const raw: unknown = JSON.parse(text)
  if (!Array.isArray(raw)) return []
  const out: Array<StoredLayer> = []
  for (const l of raw) {
    if (typeof l !== "object" || l === null) continue
    const id = field(l, "id")
    if (typeof id !== "string" || !ID.test(id)) continue
    const parent = field(l, "parent")
    // a parent that is not a layer id: the record is not one to build on
    if (parent !== undefined && parent !== "" && (typeof parent !== "string" || !ID.test(parent))) continue
    const digest = field(l, "compressed-diff-digest")
    const flags = field(l, "flags")
    const incomplete = typeof flags === "object" && flags !== null && field(flags, "incomplete") === true
    out.push({
      id,
      parent: typeof parent === "string" && ID.test(parent) ? parent : undefined,
      compressedDigest: typeof digest === "string" ? digest : undefined,
      incomplete
    })
  }
  return out
}

/**
 * The unpacked trees of `digests` (an image's layers, bottom first) when the storage at `root` holds
 * them complete as one chain — the first without a parent, each next one's parent the one before;
 * undefined otherwise (not pulled yet, still being written, no such storage).
 */
export const storedLayerTrees = async (root: string, digests: ReadonlyArray<string>): Promise<Array<string> | undefined> => {
  const file = path.join(root, "overlay-layers", "layers.json")
  const st = await fs.stat(file).catch(() => undefined)
  if (st === undefined || !st.isFile() || st.size > MAX_LAYERS_JSON_BYTES) return undefined
  let layers: Array<StoredLayer>
  try {
    layers = parseLayers(await fs.readFile(file, "utf8"))
  } catch {
    return undefined // written right now by buildah (it replaces the file whole), or not JSON: not yet
  }
  const trees: Array<string> = []
  let parent: string | undefined
  for (const digest of digests) {
    const found = layers.find((l) => l.compressedDigest === digest && !l.incomplete && l.parent === parent)
    if (found === undefined) return undefined
    const tree = path.join(root, "overlay", found.id, "diff")
    const dir = await fs.lstat(tree).catch(() => undefined)
    if (dir === undefined || !dir.isDirectory()) return undefined
    trees.push(tree)
    parent = found.id
  }
  return trees
}
