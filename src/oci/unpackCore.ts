/**
 * The layer unpacker itself (ADR 0301, 0808): the rules that keep hostile layer content inside the
 * rootfs. It imports neither Effect nor the registry transport, so that it loads quickly in the unpack
 * worker thread (unpackWorker.ts); its refusals are plain `UnpackRefusal`s, which the daemon side turns
 * into the typed `OciFailure`s (unpack.ts `refusalFailure`).
 */
import * as fsSync from "node:fs"
import { constants as C, createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import * as tar from "tar-stream"
import { decompressor, sniffCompression } from "./decompress.js"

type TarEntry = tar.Extract extends AsyncIterable<infer E> ? E : never

export interface UnpackLimits {
  /** Cap on the sum of regular-file sizes over all layers. */
  readonly maxBytes: number
  /** Cap on tar entries over all layers. */
  readonly maxEntries: number
}

export interface UnpackOptions extends UnpackLimits {
  /** Shift image uid/gid N to host N+base (only when running as root). */
  readonly idShift: { readonly base: number; readonly size: number } | undefined
}

interface DirMeta {
  mode: number
  uid: number
  gid: number
  mtime: Date | undefined
}

/**
 * What an unpacker knows after some layers beyond the tree itself: the limit counters and the directory
 * metadata still to apply (`finish`). With the tree, it is all a chain snapshot (chains.ts) keeps.
 */
export interface UnpackState {
  readonly bytes: number
  readonly entries: number
  readonly dirs: ReadonlyArray<
    readonly [string, { readonly mode: number; readonly uid: number; readonly gid: number; readonly mtime?: string | undefined }]
  >
}

const WH = ".wh."
/** Files up to this size are buffered and written with synchronous calls. */
const SMALL_FILE = 256 * 1024
const OPAQUE = ".wh..wh..opq"

/**
 * Normalizes a tar path into rootfs-relative components; refuses absolute
 * paths, `..` components and NUL bytes. "" means the rootfs itself.
 */
export const sanitizeEntryPath = (name: string): string | { readonly refused: string } => {
  if (name.includes("\0")) return { refused: "path contains a NUL byte" }
  if (name.startsWith("/")) return { refused: "absolute path" }
  const parts: Array<string> = []
  for (const p of name.split("/")) {
    if (p === "" || p === ".") continue
    if (p === "..") return { refused: "path contains '..'" }
    parts.push(p)
  }
  return parts.join("/")
}

/** Why a layer was refused, with the fields of the matching typed error (errors.ts). */
export type Refusal =
  | { readonly _tag: "HostileLayer"; readonly layer: string; readonly entry: string; readonly reason: string }
  | { readonly _tag: "IdOutOfRange"; readonly subject: string; readonly id: number; readonly limit: number }
  | { readonly _tag: "UnpackLimitExceeded"; readonly layer: string; readonly entry: string; readonly limit: string }

/** A refused layer (never a file-system failure: those keep their `code` and `syscall`). */
export class UnpackRefusal extends Error {
  constructor(readonly refusal: Refusal) {
    super(`layer refused: ${refusal._tag}`)
  }
}

/** Body chunks as Buffers (no copy for Buffers). */
const toBuffer = (chunk: unknown): Buffer => {
  if (Buffer.isBuffer(chunk)) return chunk
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  if (typeof chunk === "string") return Buffer.from(chunk)
  throw new TypeError("unexpected stream chunk")
}

const errno = (e: unknown): string | undefined => e instanceof Error && "code" in e && typeof e.code === "string" ? e.code : undefined

/**
 * Applies image layers in order onto a private rootfs directory. Every path
 * is resolved component by component with lstat (symlinks are never
 * traversed), files are created with O_EXCL|O_NOFOLLOW, and directory
 * metadata is applied at the end, deepest first.
 */
export class UnpackerCore {
  private bytes = 0
  private entries = 0
  private readonly dirs = new Map<string, DirMeta>()
  private readonly knownDirs = new Set<string>([""])
  readonly skipped: Array<string> = []

  constructor(
    readonly rootfs: string,
    private readonly options: UnpackOptions
  ) {}

  /** The counters and pending directory metadata, for a chain snapshot of the tree as it is now. */
  state(): UnpackState {
    return {
      bytes: this.bytes,
      entries: this.entries,
      dirs: [...this.dirs.entries()].map((
        [rel, m]
      ) => [rel, { mode: m.mode, uid: m.uid, gid: m.gid, ...(m.mtime ? { mtime: m.mtime.toISOString() } : {}) }])
    }
  }

  /** Continues from a snapshot's state (its tree already cloned into `rootfs`); the limits keep counting. */
  adopt(state: UnpackState): void {
    this.bytes = state.bytes
    this.entries = state.entries
    this.dirs.clear()
    for (const [rel, m] of state.dirs) {
      this.dirs.set(rel, { mode: m.mode, uid: m.uid, gid: m.gid, mtime: m.mtime === undefined ? undefined : new Date(m.mtime) })
    }
  }

  private hostile(layer: string, entry: string, reason: string): UnpackRefusal {
    return new UnpackRefusal({ _tag: "HostileLayer", layer, entry, reason })
  }

  private abs(rel: string): string {
    return rel === "" ? this.rootfs : path.join(this.rootfs, rel)
  }

  private shiftId(layer: string, entry: string, kind: "uid" | "gid", id: number): number {
    const s = this.options.idShift
    if (s === undefined) return -1
    if (!Number.isInteger(id) || id < 0 || id >= s.size) {
      throw new UnpackRefusal({ _tag: "IdOutOfRange", subject: `${kind} of ${entry} in layer ${layer}`, id, limit: s.size })
    }
    return s.base + id
  }

  /**
   * Verifies that every component of `relDir` is a real directory (never a
   * symlink). With `create`, missing components become 0755 directories.
   * Returns false when a component is missing and `create` is off.
   */
  private async walkDirs(layer: string, entry: string, relDir: string, create: boolean): Promise<boolean> {
    if (this.knownDirs.has(relDir)) return true
    const parts = relDir.split("/")
    let cur = ""
    for (const part of parts) {
      cur = cur === "" ? part : `${cur}/${part}`
      if (this.knownDirs.has(cur)) continue
      const st = fsSync.lstatSync(this.abs(cur), { throwIfNoEntry: false })
      if (st === undefined) {
        if (!create) return false
        fsSync.mkdirSync(this.abs(cur), { mode: 0o700 })
        if (!this.dirs.has(cur)) this.dirs.set(cur, { mode: 0o755, uid: 0, gid: 0, mtime: undefined })
      } else if (st.isSymbolicLink()) {
        throw this.hostile(layer, entry, `path component '${cur}' is a symlink`)
      } else if (!st.isDirectory()) {
        throw this.hostile(layer, entry, `path component '${cur}' is not a directory`)
      }
      this.knownDirs.add(cur)
    }
    return true
  }

  /** Removes whatever exists at rel (recursively), forgetting cached directory facts below it. */
  private async removePath(rel: string): Promise<void> {
    await fs.rm(this.abs(rel), { recursive: true, force: true })
    const prefix = `${rel}/`
    for (const k of this.knownDirs) if (k === rel || k.startsWith(prefix)) this.knownDirs.delete(k)
    for (const k of this.dirs.keys()) if (k === rel || k.startsWith(prefix)) this.dirs.delete(k)
  }

  /** Clears the slot for a new non-directory entry (or keeps an existing directory when `keepDir`). */
  private async prepareSlot(rel: string, keepDir: boolean): Promise<"dir-exists" | "free"> {
    const st = fsSync.lstatSync(this.abs(rel), { throwIfNoEntry: false })
    if (st === undefined) return "free"
    if (keepDir && st.isDirectory()) return "dir-exists"
    await this.removePath(rel)
    return "free"
  }

  private checkLimits(layer: string, entry: string, size: number): void {
    this.entries++
    if (this.entries > this.options.maxEntries) {
      throw new UnpackRefusal({ _tag: "UnpackLimitExceeded", layer, entry, limit: `more than ${this.options.maxEntries} entries` })
    }
    this.bytes += size
    if (this.bytes > this.options.maxBytes) {
      throw new UnpackRefusal({
        _tag: "UnpackLimitExceeded",
        layer,
        entry,
        limit: `unpacked size over ${Math.floor(this.options.maxBytes / 1048576)} MB`
      })
    }
  }

  /** Applies one layer blob (gzip, zstd or plain tar, detected from its bytes). */
  async applyLayerFile(layer: string, file: string): Promise<void> {
    const comp = await sniffCompression(file)
    const source = createReadStream(file, { highWaterMark: 256 * 1024 })
    const d = decompressor(comp)
    await this.applyLayerStream(layer, d ? source.pipe(d) : source, [source])
  }

  async applyLayerStream(layer: string, stream: Readable, toDestroy: ReadonlyArray<Readable> = []): Promise<void> {
    const extract = tar.extract()
    let pipeError: unknown
    const piping = pipeline(stream, extract).catch((e: unknown) => {
      pipeError = e
    })
    const createdHere = new Set<string>()
    try {
      for await (const entry of extract) {
        await this.applyEntry(layer, entry, createdHere)
      }
    } catch (e) {
      for (const s of toDestroy) s.destroy()
      stream.destroy()
      extract.destroy()
      await piping
      // file-system failures (they carry a syscall) stay as they are; anything
      // else from the tar parser or decompressor means the layer is corrupt
      if (e instanceof UnpackRefusal || (e instanceof Error && "syscall" in e)) throw e
      throw this.hostile(layer, "", `layer is not a valid tar stream: ${e instanceof Error ? e.message : String(e)}`)
    }
    await piping
    if (pipeError !== undefined) {
      throw this.hostile(
        layer,
        "",
        `layer is not a readable tar stream: ${pipeError instanceof Error ? pipeError.message : String(pipeError)}`
      )
    }
  }

  private async drain(entry: TarEntry): Promise<void> {
    entry.resume()
  }

  private async applyEntry(layer: string, entry: TarEntry, createdHere: Set<string>): Promise<void> {
    const h = entry.header
    const name = h.name
    const type = h.type ?? "file"
    const clean = sanitizeEntryPath(name)
    if (typeof clean !== "string") throw this.hostile(layer, name, clean.refused)
    const isFile = type === "file" || type === "contiguous-file"
    this.checkLimits(layer, name, isFile ? h.size ?? 0 : 0)
    const rel = clean
    const base = path.posix.basename(rel)
    const dir = path.posix.dirname(rel) === "." ? "" : path.posix.dirname(rel)

    if (rel === "") {
      if (type === "directory") this.dirs.set("", this.dirMeta(layer, name, h))
      return this.drain(entry)
    }

    if (base === OPAQUE) {
      await this.drain(entry)
      if (!(await this.walkDirs(layer, name, dir, true))) return
      for (const child of fsSync.readdirSync(this.abs(dir))) {
        const childRel = dir === "" ? child : `${dir}/${child}`
        if (!createdHere.has(childRel)) await this.removePath(childRel)
      }
      return
    }
    if (base.startsWith(WH)) {
      await this.drain(entry)
      const target = base.slice(WH.length)
      if (target === "" || target === "." || target === "..") throw this.hostile(layer, name, "malformed whiteout")
      if (!(await this.walkDirs(layer, name, dir, false))) return
      await this.removePath(dir === "" ? target : `${dir}/${target}`)
      return
    }

    await this.walkDirs(layer, name, dir, true)
    const abs = this.abs(rel)
    switch (type) {
      case "directory": {
        await this.drain(entry)
        if ((await this.prepareSlot(rel, true)) === "free") fsSync.mkdirSync(abs, { mode: 0o700 })
        this.dirs.set(rel, this.dirMeta(layer, name, h))
        this.knownDirs.add(rel)
        createdHere.add(rel)
        return
      }
      case "file":
      case "contiguous-file": {
        await this.prepareSlot(rel, false)
        const uid = this.shiftId(layer, name, "uid", h.uid ?? 0)
        const gid = this.shiftId(layer, name, "gid", h.gid ?? 0)
        const mode = (h.mode ?? 0o644) & 0o7777
        const size = h.size ?? 0
        if (size <= SMALL_FILE) {
          // Small files: gather the bytes, then synchronous syscalls — one
          // thread-pool round trip per call would dominate for many small files.
          const chunks: Array<Buffer> = []
          for await (const chunk of entry) chunks.push(toBuffer(chunk))
          const fd = fsSync.openSync(abs, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600)
          try {
            for (const buf of chunks) {
              let off = 0
              while (off < buf.length) off += fsSync.writeSync(fd, buf, off, buf.length - off)
            }
            if (uid >= 0) fsSync.fchownSync(fd, uid, gid)
            fsSync.fchmodSync(fd, mode)
            if (h.mtime) fsSync.futimesSync(fd, h.mtime, h.mtime)
          } finally {
            fsSync.closeSync(fd)
          }
        } else {
          const fh = await fs.open(abs, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600)
          try {
            for await (const chunk of entry) await fh.write(toBuffer(chunk))
            if (uid >= 0) await fh.chown(uid, gid)
            await fh.chmod(mode)
            if (h.mtime) await fh.utimes(h.mtime, h.mtime)
          } finally {
            await fh.close()
          }
        }
        createdHere.add(rel)
        return
      }
      case "symlink": {
        await this.drain(entry)
        const target = h.linkname ?? ""
        if (target === "" || target.includes("\0")) throw this.hostile(layer, name, "symlink without a valid target")
        await this.prepareSlot(rel, false)
        const uid = this.shiftId(layer, name, "uid", h.uid ?? 0)
        const gid = this.shiftId(layer, name, "gid", h.gid ?? 0)
        fsSync.symlinkSync(target, abs)
        if (uid >= 0) fsSync.lchownSync(abs, uid, gid)
        if (h.mtime) fsSync.lutimesSync(abs, h.mtime, h.mtime)
        createdHere.add(rel)
        return
      }
      case "link": {
        await this.drain(entry)
        const target = sanitizeEntryPath(h.linkname ?? "")
        if (typeof target !== "string" || target === "") {
          throw this.hostile(layer, name, `hardlink target '${h.linkname ?? ""}' is outside the rootfs`)
        }
        const tdir = path.posix.dirname(target) === "." ? "" : path.posix.dirname(target)
        if (!(await this.walkDirs(layer, name, tdir, false))) {
          throw this.hostile(layer, name, `hardlink target '${target}' does not exist`)
        }
        const tst = fsSync.lstatSync(this.abs(target), { throwIfNoEntry: false })
        if (tst === undefined || tst.isDirectory()) {
          throw this.hostile(layer, name, `hardlink target '${target}' is missing or a directory`)
        }
        if (target === rel) return
        await this.prepareSlot(rel, false)
        fsSync.linkSync(this.abs(target), abs)
        createdHere.add(rel)
        return
      }
      case "character-device":
      case "block-device":
      case "fifo": {
        await this.drain(entry)
        this.skipped.push(`${layer}: skipped ${type} ${name}`)
        return
      }
      default: {
        await this.drain(entry)
        this.skipped.push(`${layer}: skipped unsupported entry type ${type} ${name}`)
        return
      }
    }
  }

  private dirMeta(layer: string, name: string, h: tar.Header): DirMeta {
    // validate ids now so the error names the entry
    this.shiftId(layer, name, "uid", h.uid ?? 0)
    this.shiftId(layer, name, "gid", h.gid ?? 0)
    return { mode: (h.mode ?? 0o755) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime }
  }

  /** Applies directory ownership/modes/mtimes deepest-first, after all layers. */
  async finish(): Promise<void> {
    if (!this.dirs.has("")) this.dirs.set("", { mode: 0o755, uid: 0, gid: 0, mtime: undefined })
    const ordered = [...this.dirs.entries()].sort((a, b) => b[0].split("/").length - a[0].split("/").length)
    // re-verify every parent chain from scratch: nothing may be reached through a symlink
    this.knownDirs.clear()
    this.knownDirs.add("")
    for (const [rel, meta] of ordered) {
      if (rel !== "") {
        const dir = path.posix.dirname(rel) === "." ? "" : path.posix.dirname(rel)
        if (!(await this.walkDirs("finish", rel, dir, false))) continue
      }
      let fd: number
      try {
        fd = fsSync.openSync(this.abs(rel), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW)
      } catch (e) {
        if (errno(e) === "ENOENT" || errno(e) === "ELOOP" || errno(e) === "ENOTDIR") continue
        throw e
      }
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
