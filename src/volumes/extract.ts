/**
 * Restore: a tar stream (plain or zstd) unpacked into a fresh, daemon-private
 * directory under the rules uploads follow, through the tar header gate and
 * GNU `tar -x` (ADR 0902; platform/archive). Refused (→ 400, naming the rule
 * and the entry): absolute paths, `..`, NUL bytes, device and fifo entries,
 * symlinks whose target is absolute or leaves the volume, hard links to
 * anything but a file already in the archive, any path reached through a
 * symlink or a file, a directory replaced by a non-directory or the reverse,
 * ids outside the user-namespace range, anything the gate cannot read. Caps
 * (→ 413): total file bytes and entry count. Container id N is written as
 * host id base+N in the headers tar receives; missing parent directories are
 * created as the container's root (0755); tar applies directory metadata at
 * the end.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Readable } from "node:stream"
import { DecompressError, extractTar, TarFormatError } from "../platform/archive/extractTar.js"
import { peekBytes } from "../platform/archive/peekBytes.js"
import type { SplicedBody } from "../platform/archive/requestBody.js"
import type { GateEntry, GatePolicy, GateVerdict } from "../platform/archive/tarGate.js"
import { ArchiveTooLarge, HostileArchive } from "./errors.js"
import type { IdShift } from "./pack.js"

export interface ExtractLimits {
  readonly maxBytes: number
  readonly maxEntries: number
}

export interface ExtractOptions extends ExtractLimits {
  /** Container id N becomes host id base+N (only when running as root). */
  readonly idShift: IdShift | undefined
  /** The `denia-init` helper, for the tar pipe (ADR 0902); undefined = the in-process gate. */
  readonly tarPipeHelper?: string | undefined
  /** Cap on the raw (compressed or not) stream as it arrives. */
  readonly maxBodyBytes?: number
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

/** Headroom for tar headers and padding on top of the file data cap. */
const TAR_OVERHEAD_BYTES = 64 * 1024 * 1024

type Kind = "dir" | "file" | "link"

/** The restore rules as a gate policy; `rootSeen` says whether the archive set the root's metadata. */
export const volumePolicy = (options: ExtractOptions) => {
  const kinds = new Map<string, Kind>([["", "dir"]])
  let bytes = 0
  let entries = 0
  let rootSeen = false
  const s = options.idShift
  const hostId = (entry: string, kind: "uid" | "gid", id: number): number => {
    if (!Number.isInteger(id) || id < 0 || (s !== undefined && id >= s.size)) {
      throw new HostileArchive({ rule: `${kind} ${id} is outside the user-namespace range`, entry })
    }
    return s === undefined ? 0 : s.base + id
  }
  /** Every component of `dir` is a directory (missing ones created as the container's root), never a symlink or file. */
  const parentsOf = (entry: string, rel: string): Array<{ path: string; mode: number; uid: number; gid: number }> => {
    const made: Array<{ path: string; mode: number; uid: number; gid: number }> = []
    const parts = rel.split("/")
    let cur = ""
    for (let i = 0; i < parts.length - 1; i++) {
      cur = cur === "" ? (parts[i] ?? "") : `${cur}/${parts[i] ?? ""}`
      const kind = kinds.get(cur)
      if (kind === undefined) {
        kinds.set(cur, "dir")
        made.push({ path: cur, mode: 0o755, uid: s?.base ?? 0, gid: s?.base ?? 0 })
      } else if (kind !== "dir") throw new HostileArchive({ rule: `path component '${cur}' is not a directory`, entry })
    }
    return made
  }
  const policy: GatePolicy = (e: GateEntry): GateVerdict | "skip" => {
    const name = e.name
    const clean = cleanArchivePath(name)
    if (typeof clean !== "string") throw new HostileArchive({ rule: clean.rule, entry: name })
    const rel = clean
    const isFile = e.type === "file" || e.type === "contiguous-file"
    entries++
    if (entries > options.maxEntries) throw new ArchiveTooLarge({ limit: `more than ${options.maxEntries} entries`, entry: name })
    bytes += isFile ? e.size : 0
    if (bytes > options.maxBytes) throw new ArchiveTooLarge({ limit: `unpacked size over ${options.maxBytes} bytes`, entry: name })
    const uid = hostId(name, "uid", e.uid)
    const gid = hostId(name, "gid", e.gid)
    const meta = { path: rel, mode: e.mode, uid, gid }
    if (e.type === "directory") {
      if (rel === "") {
        rootSeen = true
        return meta
      }
      const parents = parentsOf(name, rel)
      const was = kinds.get(rel)
      if (was !== undefined && was !== "dir") throw new HostileArchive({ rule: "replaces a non-directory with a directory", entry: name })
      kinds.set(rel, "dir")
      return { ...meta, parents }
    }
    if (rel === "") throw new HostileArchive({ rule: "the volume root must be a directory", entry: name })
    const parents = parentsOf(name, rel)
    const replaces = () => {
      if (kinds.get(rel) === "dir") throw new HostileArchive({ rule: "replaces a directory with a non-directory", entry: name })
    }
    switch (e.type) {
      case "file":
      case "contiguous-file":
        replaces()
        kinds.set(rel, "file")
        return { ...meta, parents }
      case "symlink":
        if (!symlinkStaysInside(rel, e.linkname)) {
          throw new HostileArchive({ rule: `symlink target '${e.linkname}' is absolute or leaves the volume`, entry: name })
        }
        replaces()
        kinds.set(rel, "link")
        return { ...meta, mode: 0o777, parents }
      case "link": {
        const target = cleanArchivePath(e.linkname)
        if (typeof target !== "string" || target === "" || kinds.get(target) !== "file") {
          throw new HostileArchive({ rule: `hard link target '${e.linkname}' is not a file earlier in the archive`, entry: name })
        }
        if (target === rel) return "skip"
        replaces()
        kinds.set(rel, "file")
        return { ...meta, linkTarget: target, parents }
      }
      default:
        throw new HostileArchive({ rule: `${e.type} entries are not allowed`, entry: name })
    }
  }
  return { policy, rootSeen: () => rootSeen }
}

const ZSTD_MAGIC = 0xfd2fb528

/**
 * Unpacks the tar `stream` (plain or zstd) into `root` (an empty directory); throws HostileArchive /
 * ArchiveTooLarge or I/O errors. A body the helper receives (requestBody.ts) brings its head along.
 */
export const extractArchive = async (stream: Readable | SplicedBody, root: string, options: ExtractOptions): Promise<number> => {
  const head = stream instanceof Readable ? await peekBytes(stream, 4) : stream.head
  const zstd = head.length >= 4 && head.readUInt32LE(0) === ZSTD_MAGIC
  const { policy, rootSeen } = volumePolicy(options)
  let entries: number
  try {
    entries = await extractTar(stream, {
      compression: zstd ? "zstd" : "none",
      policy,
      dest: root,
      sameOwner: options.idShift !== undefined,
      helper: options.tarPipeHelper,
      ...(options.maxBodyBytes === undefined ? {} : {
        maxInputBytes: {
          bytes: options.maxBodyBytes,
          error: () => new ArchiveTooLarge({ limit: `request body over ${options.maxBodyBytes} bytes`, entry: "" })
        }
      }),
      maxTarBytes: {
        bytes: options.maxBytes + TAR_OVERHEAD_BYTES,
        error: () => new ArchiveTooLarge({ limit: `unpacked size over ${options.maxBytes} bytes`, entry: "" })
      }
    })
  } catch (e) {
    if (e instanceof DecompressError) throw new HostileArchive({ rule: "not a valid zstd stream", entry: "" })
    if (e instanceof TarFormatError) throw new HostileArchive({ rule: `not a valid tar stream (${e.message})`, entry: "" })
    throw e
  }
  if (entries === 0) throw new HostileArchive({ rule: "the archive is empty", entry: "" })
  if (!rootSeen()) {
    const s = options.idShift
    if (s !== undefined) await fs.chown(root, s.base, s.base)
    await fs.chmod(root, 0o755)
  }
  return entries
}
