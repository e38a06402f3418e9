/**
 * A new volume's first contents: the image's files at the mount path, copied
 * with their ownership, modes and times, as engines do for named volumes. A
 * pulled bundle holds its owners shifted into the user-namespace range
 * already (offset 0); a bundle made from a build's own layer trees keeps the
 * image's owners (ADR 0822), so the copy adds the range's base.
 * The path is resolved inside the bundle component by component with lstat:
 * a symlink anywhere on it means there is nothing to copy (a link could point
 * out of the bundle). Below it, symlinks are copied as links, never
 * followed; devices, fifos and sockets are skipped.
 */
import { constants as C } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { lstatOrUndefined } from "./paths.js"

export interface CopyUpResult {
  readonly copied: boolean
  readonly entries: number
}

/** The directory at `mountPath` in `rootfs`, or undefined when it is missing or reached through a symlink. */
export const imageDirAt = async (rootfs: string, mountPath: string): Promise<string | undefined> => {
  let cur = rootfs
  for (const part of mountPath.split("/").filter((p) => p !== "")) {
    cur = path.join(cur, part)
    const st = await lstatOrUndefined(cur)
    if (st === undefined || st.isSymbolicLink() || !st.isDirectory()) return undefined
  }
  return cur
}

/** What to add to the bundle's owners for the volume (undefined: leave owners alone, as without a user namespace). */
export type OwnerOffset = number | undefined

const applyMeta = async (
  p: string,
  st: { uid: number; gid: number; mode: number; atime: Date; mtime: Date },
  offset: OwnerOffset
) => {
  if (offset !== undefined) await fs.lchown(p, st.uid + offset, st.gid + offset)
  await fs.chmod(p, st.mode & 0o7777)
  await fs.utimes(p, st.atime, st.mtime)
}

/** Copies the tree below `from` into the (empty, daemon-private) directory `to`, whose own metadata becomes `from`'s. */
export const copyTree = async (from: string, to: string, offset: OwnerOffset): Promise<number> => {
  let entries = 0
  const walk = async (src: string, dst: string): Promise<void> => {
    for (const name of await fs.readdir(src)) {
      const s = path.join(src, name)
      const d = path.join(dst, name)
      const st = await fs.lstat(s)
      entries++
      if (st.isDirectory()) {
        await fs.mkdir(d, { mode: 0o700 })
        await walk(s, d)
        await applyMeta(d, st, offset)
      } else if (st.isFile()) {
        await fs.copyFile(s, d, C.COPYFILE_EXCL)
        await applyMeta(d, st, offset)
      } else if (st.isSymbolicLink()) {
        await fs.symlink(await fs.readlink(s), d)
        if (offset !== undefined) await fs.lchown(d, st.uid + offset, st.gid + offset)
      }
    }
  }
  await walk(from, to)
  await applyMeta(to, await fs.lstat(from), offset)
  return entries
}
