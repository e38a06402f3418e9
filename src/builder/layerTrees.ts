/**
 * The layer trees of a built image in the project's buildah storage (ADR 0822), read from
 * containers/storage's own records: `overlay-images/images.json` names the image's top layer,
 * `overlay-layers/layers.json` links each layer to its parent and records its uncompressed digest and
 * the ids its files use, and `overlay/<id>/diff` is the layer's tree in overlayfs form. The records are
 * not a published interface: whatever does not look exactly as expected gives `undefined`, and the
 * deploy pulls the image instead. The caller checks the digests against the pushed image's config.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"

export interface LayerTree {
  /** The layer's uncompressed digest (`diff-digest`), which the image config lists in `rootfs.diff_ids`. */
  readonly diffId: string
  /** The layer's tree (overlayfs form: whiteouts are 0/0 character devices). */
  readonly dir: string
  /** Bytes of the layer's uncompressed tar (`diff-size`), for the caller's size cap. */
  readonly size: number
}

/** Records bigger than this are not read (a project's storage with thousands of layers stays far below). */
const MAX_RECORDS_BYTES = 64 * 1024 * 1024
/** More layers than any real image has (OCI images stop near 127 with overlay's stacking anyway). */
const MAX_LAYERS = 512
const DIGEST = /^sha256:[0-9a-f]{64}$/
const LAYER_ID = /^[0-9a-f]{64}$/

interface LayerRecord {
  readonly id: string
  readonly parent: string | undefined
  readonly diffId: string
  readonly size: number
  readonly maxId: number
}

const readRecords = async (file: string): Promise<Array<unknown> | undefined> => {
  try {
    const st = await fs.stat(file)
    if (!st.isFile() || st.size > MAX_RECORDS_BYTES) return undefined
    const parsed: unknown = JSON.parse(await fs.readFile(file, "utf8"))
    return Array.isArray(parsed) ? parsed : undefined
  } catch {
    return undefined
  }
}

const field = (o: unknown, key: string): unknown => (typeof o === "object" && o !== null ? (o as Record<string, unknown>)[key] : undefined)

/** The highest id in `uidset`/`gidset`, or -1 when a set is missing or not a list of ids. */
const maxIdOf = (o: unknown): number => {
  let max = 0
  for (const key of ["uidset", "gidset"]) {
    const set = field(o, key)
    if (set === undefined) continue
    if (!Array.isArray(set) || !set.every((n) => Number.isInteger(n) && n >= 0)) return -1
    for (const n of set as Array<number>) max = Math.max(max, n)
  }
  return max
}

const layerRecord = (o: unknown): LayerRecord | undefined => {
  const id = field(o, "id")
  const parent = field(o, "parent")
  const diffId = field(o, "diff-digest")
  if (typeof id !== "string" || !LAYER_ID.test(id) || typeof diffId !== "string" || !DIGEST.test(diffId)) return undefined
  if (parent !== undefined && (typeof parent !== "string" || !LAYER_ID.test(parent))) return undefined
  const size = field(o, "diff-size")
  if (field(o, "incomplete") === true || typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return undefined
  return { id, parent: parent as string | undefined, diffId, size, maxId: maxIdOf(o) }
}

const isRealDir = async (p: string) => {
  const st = await fs.lstat(p).catch(() => undefined)
  return st !== undefined && st.isDirectory()
}

/**
 * The trees of `imageName` (as buildah names it, e.g. `localhost/denia-build/p/s:dep`), bottom first;
 * undefined when anything is missing, malformed, cyclic, over the bounds, or uses ids at or above
 * `maxIds` (the node's user-namespace size: such files would be nobody's inside a replica).
 */
export const locateLayerTrees = async (
  storageRoot: string,
  imageName: string,
  maxIds: number
): Promise<ReadonlyArray<LayerTree> | undefined> => {
  const images = await readRecords(path.join(storageRoot, "overlay-images", "images.json"))
  const image = images?.find((i) => {
    const names = field(i, "names")
    return Array.isArray(names) && names.includes(imageName)
  })
  const top = field(image, "layer")
  if (typeof top !== "string" || !LAYER_ID.test(top)) return undefined
  const layers = new Map<string, LayerRecord>()
  for (const file of ["layers.json", "volatile-layers.json"]) {
    const records = await readRecords(path.join(storageRoot, "overlay-layers", file))
    if (records === undefined) {
      if (file === "layers.json") return undefined
      continue
    }
    for (const r of records) {
      const layer = layerRecord(r)
      if (layer !== undefined) layers.set(layer.id, layer)
    }
  }
  const chain: Array<LayerTree> = []
  let id: string | undefined = top
  while (id !== undefined) {
    const layer = layers.get(id)
    if (layer === undefined || layer.maxId < 0 || layer.maxId >= maxIds || chain.length >= MAX_LAYERS) return undefined
    const dir = path.join(storageRoot, "overlay", layer.id, "diff")
    if (!(await isRealDir(path.dirname(dir))) || !(await isRealDir(dir))) return undefined
    chain.push({ diffId: layer.diffId, dir, size: layer.size })
    id = layer.parent
  }
  return chain.reverse()
}
