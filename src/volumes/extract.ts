/**
 * Restore: a tar stream unpacked into a fresh, daemon-private directory
 * under the rules uploads follow. Refused (→ 400, naming the rule and the
 * entry): absolute paths, `..`, NUL bytes, device and fifo entries, symlinks
 * whose target is absolute or leaves the volume, hard links to anything but
 * a file already in the archive, any path reached through a symlink, ids
 * outside the user-namespace range. Caps (→ 413): total file bytes and
 * entry count. Files are created with O_EXCL|O_NOFOLLOW; directory metadata
 * is applied at the end, deepest first.
 */
import { constants as C } from "node:fs"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import * as tar from "tar-stream"
import { ArchiveTooLarge, HostileArchive } from "./errors.js"
import type { IdShift } from "./pack.js"

export interface ExtractLimits {
  readonly maxBytes: number
  readonly maxEntries: number
}

export interface ExtractOptions extends ExtractLimits {
  /** Container id N becomes host id base+N (only when running as root). */
  readonly idShift: IdShift | undefined
}

type Entry = tar.Extract extends AsyncIterable<infer E> ? E : never

interface DirMeta {
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly mtime: Date | undefined
}

/** Archive path → volume-relative components ("" = the volume root), or the rule it breaks. */
export const cleanArchivePath = (name: string): string | { readonly rule: string } => {
  if (name.includes("\0")) return { rule: "path contains a NUL byte" }
  if (name.startsWith("/")) return { rule: "absolute path" }
  const parts: Array<string> = []
  for (const p of name.split("/")) {
    if (p === "" || p === ".") continue
    if (p === "..") return { rule: "path contains '..'" }
    parts.push(p)
  }
  return parts.join("/")
}

/** A symlink at `rel` pointing to `target` stays inside the volume. */
export const symlinkStaysInside = (rel: string, target: string): boolean => {
  if (target === "" || target.includes("\0") || target.startsWith("/")) return false
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(rel), target))
  return joined !== ".." && !joined.startsWith("../")
}

/** File data is written in batches of about this many bytes. */
const WRITE_BATCH = 4 * 1024 * 1024

const toBuffer = (chunk: unknown): Buffer => (Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array))

class Extractor {
  private bytes = 0
  private entries = 0
  private readonly dirs = new Map<string, DirMeta>()
  private readonly known = new Set<string>([""])
  private readonly files = new Set<string>()

  constructor(private readonly root: string, private readonly options: ExtractOptions) {}

  private abs(rel: string) {
    return rel === "" ? this.root : path.join(this.root, rel)
  }

  private shift(entry: string, kind: "uid" | "gid", id: number): number {
    const s = this.options.idShift
    if (!Number.isInteger(id) || id < 0 || (s !== undefined && id >= s.size)) {
      throw new HostileArchive({ rule: `${kind} ${id} is outside the user-namespace range`, entry })
    }
    return s === undefined ? -1 : s.base + id
  }

  /** Every component of `dir` is a real directory (created 0700 when missing), never a symlink. */
  private ensureDirs(entry: string, dir: string) {
    if (this.known.has(dir)) return
    let cur = ""
    for (const part of dir.split("/")) {
      cur = cur === "" ? part : `${cur}/${part}`
      if (this.known.has(cur)) continue
      const st = fsSync.lstatSync(this.abs(cur), { throwIfNoEntry: false })
      if (st === undefined) {
        fsSync.mkdirSync(this.abs(cur), { mode: 0o700 })
        if (!this.dirs.has(cur)) this.dirs.set(cur, { mode: 0o755, uid: 0, gid: 0, mtime: undefined })
      } else if (!st.isDirectory() || st.isSymbolicLink()) {
        throw new HostileArchive({ rule: `path component '${cur}' is not a directory`, entry })
      }
      this.known.add(cur)
    }
  }

  /** Clears the slot of a non-directory entry that repeats an earlier path. */
  private freeSlot(entry: string, rel: string) {
    const st = fsSync.lstatSync(this.abs(rel), { throwIfNoEntry: false })
    if (st === undefined) return
    if (st.isDirectory()) throw new HostileArchive({ rule: "replaces a directory with a non-directory", entry })
    fsSync.unlinkSync(this.abs(rel))
    this.files.delete(rel)
  }

  private count(entry: string, size: number) {
    this.entries++
    if (this.entries > this.options.maxEntries) {
      throw new ArchiveTooLarge({ limit: `more than ${this.options.maxEntries} entries`, entry })
    }
    this.bytes += size
    if (this.bytes > this.options.maxBytes) {
      throw new ArchiveTooLarge({ limit: `unpacked size over ${this.options.maxBytes} bytes`, entry })
    }
  }

  async apply(e: Entry): Promise<void> {
    const h = e.header
    const name = h.name
    const type = h.type ?? "file"
    const clean = cleanArchivePath(name)
    if (typeof clean !== "string") throw new HostileArchive({ rule: clean.rule, entry: name })
    const isFile = type === "file" || type === "contiguous-file"
    this.count(name, isFile ? h.size ?? 0 : 0)
    const rel = clean
    const uid = this.shift(name, "uid", h.uid ?? 0)
    const gid = this.shift(name, "gid", h.gid ?? 0)
    const mode = (h.mode ?? 0o644) & 0o7777
    if (type === "directory") {
      e.resume()
      if (rel !== "") {
        const dir = path.posix.dirname(rel)
        this.ensureDirs(name, dir === "." ? "" : dir)
        const st = fsSync.lstatSync(this.abs(rel), { throwIfNoEntry: false })
        if (st === undefined) fsSync.mkdirSync(this.abs(rel), { mode: 0o700 })
        else if (!st.isDirectory()) throw new HostileArchive({ rule: "replaces a non-directory with a directory", entry: name })
        this.known.add(rel)
      }
      this.dirs.set(rel, { mode: (h.mode ?? 0o755) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime })
      return
    }
    if (rel === "") throw new HostileArchive({ rule: "the volume root must be a directory", entry: name })
    const dir = path.posix.dirname(rel)
    this.ensureDirs(name, dir === "." ? "" : dir)
    const abs = this.abs(rel)
    switch (type) {
      case "file":
      case "contiguous-file": {
        this.freeSlot(name, rel)
        const fh = await fs.open(abs, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600)
        try {
          // gather the stream's small chunks into few large writes (one thread-pool round trip each)
          let batch: Array<Buffer> = []
          let batched = 0
          for await (const chunk of e) {
            const buf = toBuffer(chunk)
            batch.push(buf)
            batched += buf.length
            if (batched >= WRITE_BATCH) {
              await fh.writev(batch)
              batch = []
              batched = 0
            }
          }
          if (batch.length > 0) await fh.writev(batch)
          if (uid >= 0) await fh.chown(uid, gid)
          await fh.chmod(mode)
          if (h.mtime) await fh.utimes(h.mtime, h.mtime)
        } finally {
          await fh.close()
        }
        this.files.add(rel)
        return
      }
      case "symlink": {
        e.resume()
        const target = h.linkname ?? ""
        if (!symlinkStaysInside(rel, target)) {
          throw new HostileArchive({ rule: `symlink target '${target}' is absolute or leaves the volume`, entry: name })
        }
        this.freeSlot(name, rel)
        fsSync.symlinkSync(target, abs)
        if (uid >= 0) fsSync.lchownSync(abs, uid, gid)
        if (h.mtime) fsSync.lutimesSync(abs, h.mtime, h.mtime)
        return
      }
      case "link": {
        e.resume()
        const target = cleanArchivePath(h.linkname ?? "")
        if (typeof target !== "string" || target === "" || !this.files.has(target)) {
          throw new HostileArchive({ rule: `hard link target '${h.linkname ?? ""}' is not a file earlier in the archive`, entry: name })
        }
        if (target === rel) return
        this.freeSlot(name, rel)
        fsSync.linkSync(this.abs(target), abs)
        this.files.add(rel)
        return
      }
      default:
        throw new HostileArchive({ rule: `${type} entries are not allowed`, entry: name })
    }
  }

  /** Directory ownership, modes and times, deepest first, each opened without following links. */
  finish() {
    if (!this.dirs.has("")) this.dirs.set("", { mode: 0o755, uid: 0, gid: 0, mtime: undefined })
    const ordered = [...this.dirs.entries()].sort((a, b) => b[0].split("/").length - a[0].split("/").length)
    for (const [rel, meta] of ordered) {
      const fd = fsSync.openSync(this.abs(rel), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW)
      try {
        const s = this.options.idShift
        if (s !== undefined) fsSync.fchownSync(fd, s.base + meta.uid, s.base + meta.gid)
        fsSync.fchmodSync(fd, meta.mode)
        if (meta.mtime) fsSync.futimesSync(fd, meta.mtime, meta.mtime)
      } finally {
        fsSync.closeSync(fd)
      }
    }
  }
}

/** Unpacks the tar `stream` into `root` (an empty directory); throws HostileArchive / ArchiveTooLarge or I/O errors. */
export const extractArchive = async (stream: Readable, root: string, options: ExtractOptions): Promise<number> => {
  const extractor = new Extractor(root, options)
  const extract = tar.extract()
  let pipeError: unknown
  const piping = pipeline(stream, extract).catch((e: unknown) => {
    pipeError = e
  })
  let entries = 0
  try {
    for await (const entry of extract) {
      await extractor.apply(entry)
      entries++
    }
  } catch (e) {
    stream.destroy()
    extract.destroy()
    await piping
    if (e instanceof HostileArchive || e instanceof ArchiveTooLarge || (e instanceof Error && "syscall" in e)) throw e
    throw new HostileArchive({ rule: `not a valid tar stream (${e instanceof Error ? e.message : String(e)})`, entry: "" })
  }
  await piping
  if (pipeError !== undefined) {
    if (pipeError instanceof HostileArchive || pipeError instanceof ArchiveTooLarge) throw pipeError
    throw new HostileArchive({
      rule: `not a readable tar stream (${pipeError instanceof Error ? pipeError.message : String(pipeError)})`,
      entry: ""
    })
  }
  if (entries === 0) throw new HostileArchive({ rule: "the archive is empty", entry: "" })
  extractor.finish()
  return entries
}
