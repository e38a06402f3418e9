/**
 * The rules an uploaded build context must follow (SPEC §10), checked entry by entry as the archive
 * streams in (and again while it is unpacked for a build). Each refusal names the rule and the entry.
 *
 * - paths are relative, without NUL and without `..` components (`absolute-path`, `parent-path`);
 * - only regular files, directories and symbolic links: no hardlinks (`hardlink`), no device files or
 *   FIFOs (`device`), nothing else (`entry-type`);
 * - a symbolic link is relative, and its target may only climb (leading `..`) as far as the context root
 *   and then descend (`link-escape`); no entry may be placed below a link (`path-through-link`), so links
 *   resolve inside the context however they chain; nor below a file, and a directory is never replaced
 *   by a file or link or the other way round (`entry-conflict`);
 * - at most `upload_max_entries` entries (`too-many-entries`, 413) and `upload_max_unpacked_mb` of file
 *   data (`too-large-unpacked`, 413).
 */
import { UploadRejected } from "../errors.js"

export interface ArchiveCaps {
  /** Compressed body cap (`upload_max_mb`). */
  readonly maxBytes: number
  readonly maxUnpackedBytes: number
  readonly maxEntries: number
}

export interface EntryHeader {
  readonly name: string
  readonly type: string | null | undefined
  readonly size?: number | undefined
  readonly linkname?: string | null | undefined
}

export const MAX_PATH = 4096

export const rejected = (rule: string, entry: string, message: string, status: 400 | 413 = 400) =>
  new UploadRejected({ rule, entry: entry.slice(0, 512), message: `${rule}: ${message}`, status })

const display = (name: string) => JSON.stringify(name.slice(0, 256))

/** Context-relative components of an entry path ("" = the root itself), or the rule it breaks. */
export const entryPath = (name: string): string | UploadRejected => {
  if (name.length > MAX_PATH) return rejected("path-too-long", name, `entry ${display(name)} has a path longer than ${MAX_PATH}`)
  if (name.includes("\0")) return rejected("absolute-path", name, `entry ${display(name)} contains a NUL byte`)
  if (name.startsWith("/")) return rejected("absolute-path", name, `entry ${display(name)} is an absolute path`)
  const parts: Array<string> = []
  for (const p of name.split("/")) {
    if (p === "" || p === ".") continue
    if (p === "..") return rejected("parent-path", name, `entry ${display(name)} contains '..'`)
    parts.push(p)
  }
  return parts.join("/")
}

/** Does the relative target of a link at `rel` stay inside the context (climb first, then only descend)? */
export const linkStaysInside = (rel: string, target: string): boolean => {
  if (target === "" || target.includes("\0") || target.startsWith("/")) return false
  const depth = rel.split("/").length - 1
  let climbs = 0
  let descending = false
  for (const p of target.split("/")) {
    if (p === "" || p === ".") continue
    if (p === "..") {
      if (descending) return false
      climbs++
      continue
    }
    descending = true
  }
  return climbs <= depth
}

/** Running state of one archive check. */
export class ArchiveChecker {
  entries = 0
  unpackedBytes = 0
  private readonly links = new Set<string>()
  /** Paths of files and links (anything but directories) so far. */
  private readonly leaves = new Set<string>()
  private readonly dirs = new Set<string>()

  constructor(private readonly caps: ArchiveCaps) {}

  /** The entry's context-relative path, or the rule it breaks. */
  check(header: EntryHeader): string | UploadRejected {
    const name = header.name
    this.entries++
    if (this.entries > this.caps.maxEntries) {
      return rejected("too-many-entries", name, `the context has more than ${this.caps.maxEntries} entries (upload_max_entries)`, 413)
    }
    const rel = entryPath(name)
    if (typeof rel !== "string") return rel
    const parts = rel.split("/")
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/")
      if (this.links.has(parent)) {
        return rejected("path-through-link", name, `entry ${display(name)} lies below the symbolic link ${display(parent)}`)
      }
      if (this.leaves.has(parent)) {
        return rejected("entry-conflict", name, `entry ${display(name)} lies below the file ${display(parent)}`)
      }
    }
    const verdict = this.checkType(header, name, rel)
    if (typeof verdict !== "string" || rel === "") return verdict
    const isDir = header.type === "directory"
    if (isDir ? this.leaves.has(rel) : this.dirs.has(rel)) {
      return rejected("entry-conflict", name, `entry ${display(name)} replaces a ${isDir ? "file" : "directory"} of the same path`)
    }
    if (isDir) this.dirs.add(rel)
    else this.leaves.add(rel)
    return verdict
  }

  private checkType(header: EntryHeader, name: string, rel: string): string | UploadRejected {
    switch (header.type) {
      case "file":
      case "contiguous-file":
      case null:
      case undefined: {
        this.links.delete(rel)
        this.unpackedBytes += header.size ?? 0
        if (this.unpackedBytes > this.caps.maxUnpackedBytes) {
          return rejected(
            "too-large-unpacked",
            name,
            `the context unpacks to more than ${Math.round(this.caps.maxUnpackedBytes / (1024 * 1024))} MiB (upload_max_unpacked_mb)`,
            413
          )
        }
        return rel
      }
      case "directory":
        this.links.delete(rel)
        return rel
      case "symlink": {
        const target = header.linkname ?? ""
        if (rel === "" || !linkStaysInside(rel, target)) {
          return rejected("link-escape", name, `symbolic link ${display(name)} -> ${display(target)} points outside the context`)
        }
        this.links.add(rel)
        return rel
      }
      case "link":
        return rejected("hardlink", name, `entry ${display(name)} is a hardlink (not allowed)`)
      case "character-device":
      case "block-device":
      case "fifo":
        return rejected("device", name, `entry ${display(name)} is a ${header.type} (not allowed)`)
      default:
        return rejected("entry-type", name, `entry ${display(name)} has unsupported type ${String(header.type)}`)
    }
  }
}
