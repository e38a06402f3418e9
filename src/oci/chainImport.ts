/**
 * A chain snapshot taken from a tree on this node instead of from the registry (ADR 0813): the build's
 * storage holds the base image it pulled for `FROM` unpacked, layer by layer; a base of one layer is
 * that layer's directory. Copying it — ownership shifted like the unpacker shifts it, by GNU tar's owner
 * and group maps — costs a fraction of decompressing and unpacking the same blob a second time beside
 * the build, which is what the prewarm did before.
 *
 * The copy keeps what the unpacker keeps and drops what it drops: directories, regular files (hard
 * links among them kept), symlinks; devices, fifos and sockets are not copied (a whiteout of a bottom
 * layer, stored by the build's storage as a character device, whites out nothing). Extended attributes
 * are not copied (the unpacker writes none). The unpacker's limits apply: a tree with more entries or
 * bytes than a pull may unpack, an id outside the shift's range, or a name that is not UTF-8 is not
 * imported (the deploy's pull then unpacks the base itself and reports whatever it refuses).
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { ChainSnapshots } from "./chains.js"
import type { UnpackState } from "./unpackCore.js"

export interface ImportLimits {
  readonly maxBytes: number
  readonly maxEntries: number
  /** The ownership shift; without one (not root) nothing is imported. */
  readonly idShift: { readonly base: number; readonly size: number } | undefined
  /** Niceness of the copy (the build's, while it runs). */
  readonly nice: number
}

/** Whether a snapshot of `layers` exists now, and if not, why the import did not make one. */
export type ImportOutcome =
  | { readonly _tag: "imported"; readonly entries: number; readonly bytes: number }
  | { readonly _tag: "exists" }
  | { readonly _tag: "declined"; readonly reason: string }

interface Entry {
  readonly type: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly size: number
  readonly mtime: number
  /** The path relative to the tree, as bytes (NUL-free). */
  readonly rel: Buffer
}

/** How much `find`'s listing of a tree may take (a listing of 1 000 000 entries stays far below). */
const MAX_LISTING_BYTES = 512 * 1024 * 1024

const run = (cmd: string, args: ReadonlyArray<string>, signal?: AbortSignal) =>
  new Promise<Buffer>((resolve, reject) => {
    execFile(cmd, args, { encoding: "buffer", maxBuffer: MAX_LISTING_BYTES, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
      if (err === null) resolve(stdout)
      else reject(new Error(`${cmd}: ${stderr.toString("utf8").trim().slice(0, 500) || err.message}`))
    })
  })

/** Parses `find -printf '%y %m %U %G %s %T@ %P\0'`. */
export const parseListing = (out: Buffer): Array<Entry> => {
  const entries: Array<Entry> = []
  let start = 0
  while (start < out.length) {
    let end = out.indexOf(0, start)
    if (end < 0) end = out.length
    const record = out.subarray(start, end)
    start = end + 1
    let at = 0
    const fields: Array<string> = []
    for (let i = 0; i < 6; i++) {
      const space = record.indexOf(0x20, at)
      if (space < 0) throw new Error("unexpected listing record")
      fields.push(record.subarray(at, space).toString("latin1"))
      at = space + 1
    }
    const [type = "", mode = "", uid = "", gid = "", size = "", mtime = ""] = fields
    entries.push({
      type,
      mode: parseInt(mode, 8),
      uid: Number(uid),
      gid: Number(gid),
      size: Number(size),
      mtime: Number(mtime),
      rel: record.subarray(at)
    })
  }
  return entries
}

const utf8 = new TextDecoder("utf-8", { fatal: true })
const isUtf8 = (b: Buffer) => {
  try {
    utf8.decode(b)
    return true
  } catch {
    return false
  }
}

const dirMeta = (e: Pick<Entry, "mode" | "uid" | "gid" | "mtime">) => ({
  mode: e.mode & 0o7777,
  uid: e.uid,
  gid: e.gid,
  mtime: new Date(Math.floor(e.mtime * 1000)).toISOString()
})

/** The copy: tar's owner/group maps shift ids; `list` names what is copied (NUL-separated, not recursed). */
const COPY_SCRIPT = [
  "set -o pipefail;",
  `tar -C "$1" --numeric-owner --owner-map="$2" --group-map="$3" --null --verbatim-files-from --no-recursion -T "$4" -cf - |`,
  `tar -C "$5" -xf - --numeric-owner --same-owner --same-permissions`
].join(" ")

/**
 * Makes the snapshot of `layers` (exactly one digest, `tree` its unpacked directory) from `tree`.
 * Never touches `tree`; the temp directory it writes into is removed unless it became the snapshot.
 */
export const importChain = async (
  chains: ChainSnapshots,
  layers: ReadonlyArray<string>,
  tree: string,
  limits: ImportLimits,
  signal?: AbortSignal
): Promise<ImportOutcome> => {
  if (layers.length !== 1) return { _tag: "declined", reason: "the base has more than one layer" }
  const shift = limits.idShift
  if (shift === undefined) return { _tag: "declined", reason: "ownership is not shifted on this node" }
  if (await chains.has(layers)) return { _tag: "exists" }
  const root = await fs.lstat(tree)
  if (!root.isDirectory()) return { _tag: "declined", reason: "the build storage's layer is not a directory" }
  const listing = parseListing(await run("find", [tree, "-mindepth", "1", "-printf", "%y %m %U %G %s %T@ %P\\0"], signal))
  if (listing.length > limits.maxEntries) return { _tag: "declined", reason: `more than ${limits.maxEntries} entries` }
  const copied = listing.filter((e) => e.type === "f" || e.type === "d" || e.type === "l")
  const bytes = copied.reduce((a, e) => a + (e.type === "f" ? e.size : 0), 0)
  if (bytes > limits.maxBytes) return { _tag: "declined", reason: "larger than a pull may unpack" }
  const uids = new Set<number>([root.uid])
  const gids = new Set<number>([root.gid])
  for (const e of copied) {
    uids.add(e.uid)
    gids.add(e.gid)
    if (!isUtf8(e.rel)) return { _tag: "declined", reason: "a name that is not UTF-8" }
  }
  for (const id of [...uids, ...gids]) {
    if (!Number.isInteger(id) || id < 0 || id >= shift.size) return { _tag: "declined", reason: `id ${id} outside the shift's range` }
  }
  const tmp = await chains.tempDir()
  let published = false
  try {
    const rootfs = path.join(tmp, "rootfs")
    await fs.mkdir(rootfs, { mode: 0o700 })
    const map = (ids: ReadonlySet<number>) => [...ids].map((id) => `+${id} +${shift.base + id}\n`).join("")
    await fs.writeFile(path.join(tmp, "uid-map"), map(uids), { mode: 0o600 })
    await fs.writeFile(path.join(tmp, "gid-map"), map(gids), { mode: 0o600 })
    await fs.writeFile(path.join(tmp, "list"), Buffer.concat(copied.flatMap((e) => [e.rel, Buffer.from([0])])), { mode: 0o600 })
    if (copied.length > 0) {
      await run("nice", [
        "-n",
        String(limits.nice),
        "bash",
        "-c",
        COPY_SCRIPT,
        "copy",
        tree,
        path.join(tmp, "uid-map"),
        path.join(tmp, "gid-map"),
        path.join(tmp, "list"),
        rootfs
      ], signal)
    }
    for (const f of ["uid-map", "gid-map", "list"]) await fs.rm(path.join(tmp, f))
    const state: UnpackState = {
      bytes,
      entries: copied.length,
      dirs: [
        ["", dirMeta({ mode: root.mode, uid: root.uid, gid: root.gid, mtime: root.mtimeMs / 1000 })],
        ...copied.filter((e) => e.type === "d").map((e) => [e.rel.toString("utf8"), dirMeta(e)] as const)
      ]
    }
    published = await chains.publish(layers, tmp, state)
    return published ? { _tag: "imported", entries: copied.length, bytes } : { _tag: "exists" }
  } finally {
    if (!published) await fs.rm(tmp, { recursive: true, force: true })
  }
}
