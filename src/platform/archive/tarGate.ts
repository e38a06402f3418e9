/**
 * The tar header gate (ADR 0902): reads a tar stream block by block, decodes only the headers (ustar,
 * GNU, pax `x`/`g`, GNU `L`/`K` long names), asks a policy about every entry and, when it is asked to
 * forward, emits a header it writes itself from the checked values followed by the entry's data as
 * subarrays of the input (never copied byte by byte). Whatever `tar -x` receives is therefore exactly
 * what the policy accepted: normalized names, the ids and mode the policy chose, no pax keywords or
 * GNU extensions of the sender's. Anything the gate does not understand is a TarFormatError.
 */
import { BLOCK, type EncodedEntry, entryBlocks, paddingOf, parseHeader, parsePax, TarFormatError } from "./tarHeader.js"

/** One entry as the policy sees it (pax and GNU long names already applied). */
export interface GateEntry {
  readonly name: string
  readonly type: string
  readonly size: number
  readonly linkname: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly mtime: number
}

/** What the policy accepted: the normalized path ("" = the root) and the metadata to write. */
export interface GateVerdict {
  readonly path: string
  /** Hard links: the normalized target path. */
  readonly linkTarget?: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
  /** Directories to create first (missing parents), with their metadata. */
  readonly parents?: ReadonlyArray<{ readonly path: string; readonly mode: number; readonly uid: number; readonly gid: number }>
}

/** Judges one entry: a verdict ("skip": accepted, nothing to extract), or it throws its own refusal. */
export type GatePolicy = (entry: GateEntry) => GateVerdict | "skip"

/** Largest pax or GNU long-name data a header may carry. */
const MAX_META = 1024 * 1024

const FLAGS: { readonly [type: string]: EncodedEntry["flag"] } = {
  "file": "0",
  "contiguous-file": "0",
  "link": "1",
  "symlink": "2",
  "directory": "5"
}

const memberName = (rel: string, directory: boolean) => rel === "" ? "./" : `./${rel}${directory ? "/" : ""}`

const ZEROS = Buffer.alloc(2 * BLOCK)

type State =
  | { readonly kind: "header" }
  | { readonly kind: "meta"; readonly type: string; readonly size: number; readonly chunks: Array<Buffer>; have: number }
  | { readonly kind: "data"; left: number; readonly forward: boolean }
  | { readonly kind: "ended" }

export class TarGate {
  /** Entries accepted so far. */
  entries = 0
  private state: State = { kind: "header" }
  private carry: Buffer | undefined
  private longName: string | undefined
  private longLink: string | undefined
  private pax: Map<string, string> | undefined

  /** `forward`: produce the blocks for `tar -x` (false: check only). */
  /**
   * `requireEnd`: the input must close with the end-of-archive block; without it an archive that stops
   * at an entry boundary is taken as whole (a compressed stream has its own end checked by its decoder).
   */
  constructor(private readonly policy: GatePolicy, private readonly forward: boolean, private readonly requireEnd = false) {}

  /** Feeds `chunk`; returns the pieces to hand to `tar -x` (empty when not forwarding). */
  push(chunk: Buffer): Array<Buffer> {
    const out: Array<Buffer> = []
    let off = 0
    while (off < chunk.length) {
      const state = this.state
      if (state.kind === "ended") break
      if (state.kind === "data") {
        const n = Math.min(state.left, chunk.length - off)
        if (state.forward && this.forward) out.push(chunk.subarray(off, off + n))
        state.left -= n
        off += n
        if (state.left === 0) this.state = { kind: "header" }
        continue
      }
      if (state.kind === "meta") {
        const total = state.size + paddingOf(state.size)
        const n = Math.min(total - state.have, chunk.length - off)
        state.chunks.push(chunk.subarray(off, off + n))
        state.have += n
        off += n
        if (state.have === total) {
          this.state = { kind: "header" }
          this.meta(state.type, Buffer.concat(state.chunks).subarray(0, state.size))
        }
        continue
      }
      // a header block, possibly split across chunks
      let block: Buffer
      if (this.carry === undefined && chunk.length - off >= BLOCK) {
        block = chunk.subarray(off, off + BLOCK)
        off += BLOCK
      } else {
        const have = this.carry?.length ?? 0
        const n = Math.min(BLOCK - have, chunk.length - off)
        const part = chunk.subarray(off, off + n)
        this.carry = this.carry === undefined ? Buffer.from(part) : Buffer.concat([this.carry, part])
        off += n
        if (this.carry.length < BLOCK) continue
        block = this.carry
        this.carry = undefined
      }
      this.header(block, out)
    }
    return out
  }

  /**
   * What the gate reads next, for a driver that pulls (tarPipe): a 512-byte header, `bytes` of pax or
   * GNU long-name data, or `bytes` of entry data to forward or to skip (moved past with `passed`).
   */
  next():
    | { readonly kind: "header" }
    | { readonly kind: "meta"; readonly bytes: number }
    | { readonly kind: "data"; readonly bytes: number; readonly forward: boolean }
    | { readonly kind: "ended" }
  {
    const state = this.state
    if (state.kind === "meta") return { kind: "meta", bytes: state.size + paddingOf(state.size) - state.have }
    if (state.kind === "data") return { kind: "data", bytes: state.left, forward: state.forward && this.forward }
    if (state.kind === "header") return { kind: "header" }
    return { kind: "ended" }
  }

  /** `n` bytes of the current entry's data went by without passing through `push` (moved or skipped). */
  passed(n: number): void {
    const state = this.state
    if (state.kind !== "data" || n > state.left || n < 0) throw new TarFormatError("the data moved does not match the entry")
    state.left -= n
    if (state.left === 0) this.state = { kind: "header" }
  }

  /** The input ended: refuses a truncated archive; returns the closing blocks for `tar -x`. */
  end(): Array<Buffer> {
    const state = this.state
    if (state.kind === "ended") return []
    if (state.kind !== "header" || this.carry !== undefined) throw new TarFormatError("the archive is truncated")
    if (this.longName !== undefined || this.longLink !== undefined || this.pax !== undefined) {
      throw new TarFormatError("the archive ends after an extended header")
    }
    if (this.requireEnd) throw new TarFormatError("the archive is truncated (no end-of-archive block)")
    this.state = { kind: "ended" }
    return this.forward ? [ZEROS] : []
  }

  private header(block: Buffer, out: Array<Buffer>) {
    const h = parseHeader(block)
    if (h === "end") {
      // like GNU tar: the first zero block ends the archive; whatever follows is never extracted
      if (this.longName !== undefined || this.longLink !== undefined || this.pax !== undefined) {
        throw new TarFormatError("the archive ends after an extended header")
      }
      this.state = { kind: "ended" }
      if (this.forward) out.push(ZEROS)
      return
    }
    if (h.type === "pax-header" || h.type === "pax-global-header" || h.type === "gnu-long-path" || h.type === "gnu-long-link-path") {
      if (h.size > MAX_META) throw new TarFormatError(`${h.type} of ${h.size} bytes is too large`)
      this.state = { kind: "meta", type: h.type, size: h.size, chunks: [], have: 0 }
      if (h.size === 0) {
        this.state = { kind: "header" }
        this.meta(h.type, Buffer.alloc(0))
      }
      return
    }
    const pax = this.pax
    let name = this.longName ?? h.name
    let linkname = this.longLink ?? h.linkname
    let size = h.size
    let uid = h.uid
    let gid = h.gid
    let mtime = h.mtime
    if (pax !== undefined) {
      name = pax.get("path") ?? name
      linkname = pax.get("linkpath") ?? linkname
      size = paxNumber(pax, "size") ?? size
      uid = paxNumber(pax, "uid") ?? uid
      gid = paxNumber(pax, "gid") ?? gid
      mtime = paxNumber(pax, "mtime") ?? mtime
    }
    this.longName = undefined
    this.longLink = undefined
    this.pax = undefined
    const entry: GateEntry = { name, type: h.type, size, linkname, mode: h.mode & 0o7777, uid, gid, mtime }
    const verdict = this.policy(entry)
    const flag = FLAGS[h.type]
    if (flag === undefined) throw new TarFormatError(`${h.type} entries cannot be extracted`)
    this.entries++
    const isFile = flag === "0" && verdict !== "skip"
    if (this.forward && verdict !== "skip") {
      for (const p of verdict.parents ?? []) {
        out.push(
          entryBlocks({ name: memberName(p.path, true), flag: "5", size: 0, linkname: "", mode: p.mode, uid: p.uid, gid: p.gid, mtime })
        )
      }
      out.push(entryBlocks({
        name: memberName(verdict.path, flag === "5"),
        flag,
        size: isFile ? size : 0,
        linkname: flag === "1" ? memberName(verdict.linkTarget ?? "", false) : flag === "2" ? linkname : "",
        mode: verdict.mode,
        uid: verdict.uid,
        gid: verdict.gid,
        mtime: Math.max(0, Math.floor(mtime))
      }))
    }
    // data of anything but a file (a hard link's or a directory's, when a sender adds some) is skipped
    const total = size + paddingOf(size)
    if (total > 0) this.state = { kind: "data", left: total, forward: isFile }
  }

  private meta(type: string, data: Buffer) {
    if (type === "gnu-long-path" || type === "gnu-long-link-path") {
      const end = data.indexOf(0)
      const value = data.subarray(0, end === -1 ? data.length : end).toString("utf8")
      if (type === "gnu-long-path") this.longName = value
      else this.longLink = value
      return
    }
    const records = parsePax(data)
    for (const [key] of records) {
      if (key.startsWith("GNU.sparse")) throw new TarFormatError("sparse files are not supported")
    }
    if (type === "pax-global-header") {
      const set = records.find(([key]) => ["path", "linkpath", "size", "uid", "gid"].includes(key))
      if (set !== undefined) throw new TarFormatError(`a global pax header sets '${set[0]}'`)
      return
    }
    const pax = this.pax ?? new Map<string, string>()
    for (const [key, value] of records) pax.set(key, value)
    this.pax = pax
  }
}

const paxNumber = (pax: ReadonlyMap<string, string>, key: string): number | undefined => {
  const raw = pax.get(key)
  if (raw === undefined) return undefined
  const v = key === "mtime" ? Number(raw) : /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!Number.isFinite(v) || v > Number.MAX_SAFE_INTEGER || (key !== "mtime" && v < 0)) {
    throw new TarFormatError(`pax ${key} '${raw.slice(0, 40)}' is not a number`)
  }
  return v
}
