/**
 * The merged tree of a built image's layers, made by hard links (ADR 0822): what overlayfs would show
 * with the layer trees (overlayfs form, bottom first) as its lower layers, in one directory, the image's
 * owners kept. Everything but directories is a hard link to the layer's own inode (files, symlinks,
 * devices, fifos); directories are made anew with the layer's mode, owners and times. A whiteout (a 0/0
 * character device) removes what the layers below put at its path; an opaque directory (a mark only
 * extended attributes carry, read by the helper's `overlay-marks`) hides what they put below it.
 *
 * The bottom layer is cloned with GNU `cp -a -l` (it is most of an image: tens of thousands of entries;
 * it has nothing below it, so its marks mean nothing, and a 0/0 device it may hold is hidden by the
 * kernel in the replica's overlay as it would be in any lower layer). The layers above are walked here,
 * parents before children: every directory the walk enters in the result is one it made or checked to
 * be a real directory, so no symlink of an image is ever followed out of the result.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"

export class MergeRefused extends Error {}

export interface MergeLimits {
  /** Entries the walked layers may hold in all (the bottom layer is bounded by the caller's size check). */
  readonly maxEntries: number
}

export interface MergeTools {
  /** The runtime helper (`denia-init`), for `overlay-marks`. */
  readonly helperPath: string
}

const run = (file: string, args: ReadonlyArray<string>) =>
  new Promise<Buffer>((resolve, reject) => {
    execFile(file, args, { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout)
      else reject(new MergeRefused(`${path.basename(file)} ${args[0] ?? ""}: ${stderr.toString().trim() || error.message}`))
    })
  })

/** The opaque directories of a layer tree (relative paths); refuses redirect and metacopy marks. */
const overlayMarks = async (tools: MergeTools, tree: string): Promise<ReadonlySet<string>> => {
  const out = await run(tools.helperPath, ["overlay-marks", tree])
  const opaque = new Set<string>()
  for (const record of out.toString("utf8").split("\0")) {
    if (record === "") continue
    if (record.startsWith("x")) throw new MergeRefused(`${record.slice(1)}: overlay redirect or metacopy marks cannot be merged`)
    if (record.startsWith("o")) opaque.add(record.slice(1))
  }
  return opaque
}

const lstatOrUndefined = (p: string) => fs.lstat(p).catch(() => undefined)

const clearDir = async (dir: string) => {
  for (const name of await fs.readdir(dir)) await fs.rm(path.join(dir, name), { recursive: true, force: true })
}

/** Applies one (non-bottom) layer tree onto `root`. */
const applyLayer = async (tree: string, root: string, opaque: ReadonlySet<string>, budget: { left: number }) => {
  const walk = async (rel: string): Promise<void> => {
    const srcDir = path.join(tree, rel)
    const dstDir = path.join(root, rel)
    for (const name of await fs.readdir(srcDir)) {
      if (--budget.left < 0) throw new MergeRefused("the image has more entries than max_entries allows")
      const childRel = rel === "" ? name : `${rel}/${name}`
      const src = path.join(srcDir, name)
      const dst = path.join(dstDir, name)
      const st = await fs.lstat(src)
      if (st.isCharacterDevice() && st.rdev === 0) {
        await fs.rm(dst, { recursive: true, force: true })
        continue
      }
      const current = await lstatOrUndefined(dst)
      if (st.isDirectory()) {
        if (current !== undefined && !current.isDirectory()) await fs.rm(dst, { recursive: true, force: true })
        if (current === undefined || !current.isDirectory()) await fs.mkdir(dst, { mode: 0o700 })
        else if (opaque.has(childRel)) await clearDir(dst)
        await walk(childRel)
        await fs.lchown(dst, st.uid, st.gid)
        await fs.chmod(dst, st.mode & 0o7777)
        await fs.utimes(dst, st.atime, st.mtime)
      } else {
        if (current !== undefined) await fs.rm(dst, { recursive: true, force: true })
        await fs.link(src, dst)
      }
    }
  }
  await walk("")
  const st = await fs.lstat(tree)
  await fs.lchown(root, st.uid, st.gid)
  await fs.chmod(root, st.mode & 0o7777)
  await fs.utimes(root, st.atime, st.mtime)
}

/** Builds the merged tree of `trees` (bottom first) in `rootfs`, an existing empty directory. */
export const mergeLayerTrees = async (
  trees: ReadonlyArray<string>,
  rootfs: string,
  limits: MergeLimits,
  tools: MergeTools
): Promise<void> => {
  const [bottom, ...above] = trees
  if (bottom === undefined) return
  // marks first: a tree this merge cannot honour is refused before anything is linked
  const marks = await Promise.all(above.map((t) => overlayMarks(tools, t)))
  await run("cp", ["-a", "-l", "--", `${bottom}/.`, `${rootfs}/`])
  const budget = { left: limits.maxEntries }
  for (const [i, tree] of above.entries()) await applyLayer(tree, rootfs, marks[i] ?? new Set(), budget)
}
