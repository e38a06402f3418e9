/**
 * A volume as a tar stream: walked with lstat (symlinks stored as links,
 * never followed; files opened with O_NOFOLLOW), hard links kept as links,
 * ownership shifted back to the ids the container sees. Devices, fifos and
 * sockets are left out. A file that changes size while it is read (a live
 * copy) is stored with the size it had when its header was written: cut, or
 * padded with zeros.
 */
import { constants as C } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type * as tar from "tar-stream"

export interface IdShift {
  readonly base: number
  readonly size: number
}

const CHUNK = 1024 * 1024

type Sink = ReturnType<tar.Pack["entry"]>
type HeaderArgument = Parameters<tar.Pack["entry"]>[0]

/** A host id as the container sees it (ids outside the range become 0). */
const unshift = (id: number, shift: IdShift | undefined) =>
  shift === undefined ? id : id >= shift.base && id < shift.base + shift.size ? id - shift.base : 0

const waitDrain = (sink: Sink) => new Promise<void>((resolve) => sink.once("drain", () => resolve()))

const writeFileEntry = async (pack: tar.Pack, header: HeaderArgument, file: string, size: number) => {
  const fh = await fs.open(file, C.O_RDONLY | C.O_NOFOLLOW)
  try {
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ ...header, size }, (err) => (err ? reject(err) : resolve()))
      const pump = async () => {
        let left = size
        while (left > 0) {
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, left))
          const { bytesRead } = await fh.read(buf, 0, buf.length, null)
          // the file shrank while it was read: pad to the size in the header
          const chunk = bytesRead === 0 ? buf.fill(0) : bytesRead < buf.length ? buf.subarray(0, bytesRead) : buf
          left -= chunk.length
          if (!sink.write(chunk)) await waitDrain(sink)
        }
        sink.end(undefined)
      }
      pump().catch((e: unknown) => {
        sink.destroy(e instanceof Error ? e : new Error(String(e)))
        reject(e)
      })
    })
  } finally {
    await fh.close()
  }
}

const simpleEntry = (pack: tar.Pack, header: HeaderArgument) =>
  new Promise<void>((resolve, reject) => {
    pack.entry(header, (err) => (err ? reject(err) : resolve())).end(undefined)
  })

export interface PackResult {
  readonly entries: number
  readonly skipped: number
}

/** Writes the tree at `root` into `pack` (entries named `./…`) and finalizes it. */
export const packVolume = async (root: string, pack: tar.Pack, shift: IdShift | undefined): Promise<PackResult> => {
  const links = new Map<string, string>()
  let entries = 0
  let skipped = 0
  const meta = (st: { mode: number; uid: number; gid: number; mtime: Date }) => ({
    mode: st.mode & 0o7777,
    uid: unshift(st.uid, shift),
    gid: unshift(st.gid, shift),
    mtime: st.mtime
  })
  const walk = async (abs: string, rel: string): Promise<void> => {
    const names = (await fs.readdir(abs)).sort()
    for (const name of names) {
      const a = path.join(abs, name)
      const r = `${rel}/${name}`
      const st = await fs.lstat(a)
      entries++
      if (st.isDirectory()) {
        await simpleEntry(pack, { name: `${r}/`, type: "directory", ...meta(st) })
        await walk(a, r)
      } else if (st.isSymbolicLink()) {
        await simpleEntry(pack, { name: r, type: "symlink", linkname: await fs.readlink(a), ...meta(st) })
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`
        const first = st.nlink > 1 ? links.get(key) : undefined
        if (first !== undefined) await simpleEntry(pack, { name: r, type: "link", linkname: first, ...meta(st) })
        else {
          if (st.nlink > 1) links.set(key, r)
          await writeFileEntry(pack, { name: r, type: "file", ...meta(st) }, a, st.size)
        }
      } else {
        entries--
        skipped++
      }
    }
  }
  const rootStat = await fs.lstat(root)
  await simpleEntry(pack, { name: "./", type: "directory", ...meta(rootStat) })
  await walk(root, ".")
  pack.finalize()
  return { entries, skipped }
}
