/**
 * The 512-byte tar header block (ustar and GNU variants, ADR 0902): decoding the fields a gate needs
 * (name, type, size, link name, ids, mode, mtime) the way GNU tar reads them, pax record decoding, and
 * encoding the headers a gate writes itself (ustar, with a pax `x` header for long names). Anything it
 * does not understand is an error, never a guess.
 */

export const BLOCK = 512

/** A header that cannot be read the way `tar -x` would read it; `message` says why. */
export class TarFormatError extends Error {
  readonly _tag = "TarFormatError"
}

/** Entry types by their tar-stream names (the names the archive rules have always used). */
const TYPES: { readonly [flag: string]: string } = {
  "0": "file",
  "\0": "file",
  "1": "link",
  "2": "symlink",
  "3": "character-device",
  "4": "block-device",
  "5": "directory",
  "6": "fifo",
  "7": "contiguous-file",
  "x": "pax-header",
  "g": "pax-global-header",
  "L": "gnu-long-path",
  "K": "gnu-long-link-path",
  "S": "gnu-sparse",
  "D": "gnu-dumpdir",
  "M": "gnu-multivolume",
  "V": "gnu-volume-label",
  "N": "gnu-old-long-name"
}

export const typeName = (flag: number): string => TYPES[String.fromCharCode(flag)] ?? `type-${flag}`

const isZero = (block: Buffer): boolean => {
  for (let i = 0; i < BLOCK; i += 8) {
    if (block.readBigUInt64LE(i) !== 0n) return false
  }
  return true
}

/** A NUL-terminated string field (bytes as UTF-8, like the file system will see them). */
const str = (block: Buffer, offset: number, length: number): string => {
  const field = block.subarray(offset, offset + length)
  const end = field.indexOf(0)
  return field.subarray(0, end === -1 ? length : end).toString("utf8")
}

/** A numeric field: octal (leading spaces, then digits up to a space or NUL) or GNU base-256. */
const num = (block: Buffer, offset: number, length: number, what: string): number => {
  const field = block.subarray(offset, offset + length)
  const first = field[0] ?? 0
  if (first & 0x80) {
    if (first === 0xff) throw new TarFormatError(`negative ${what} field`)
    let v = first & 0x7f
    for (let i = 1; i < length; i++) {
      v = v * 256 + (field[i] ?? 0)
      if (v > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`${what} field is too large`)
    }
    return v
  }
  let i = 0
  while (i < length && field[i] === 0x20) i++
  let v = 0
  let digits = 0
  for (; i < length; i++) {
    const c = field[i] ?? 0
    if (c === 0 || c === 0x20) break
    if (c < 0x30 || c > 0x37) throw new TarFormatError(`${what} field is not an octal number`)
    v = v * 8 + (c - 0x30)
    digits++
  }
  for (; i < length; i++) {
    const c = field[i] ?? 0
    if (c !== 0 && c !== 0x20) throw new TarFormatError(`${what} field is not an octal number`)
  }
  return digits === 0 ? 0 : v
}

export interface RawHeader {
  readonly flag: number
  readonly type: string
  readonly name: string
  readonly linkname: string
  readonly size: number
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly mtime: number
  readonly ustar: boolean
}

/** The header in `block`, or "end" for a zero block; a bad checksum or magic is a TarFormatError. */
export const parseHeader = (block: Buffer): RawHeader | "end" => {
  if (isZero(block)) return "end"
  const stored = num(block, 148, 8, "checksum")
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0)
    unsigned += b
    signed += b > 127 ? b - 256 : b
  }
  if (stored !== unsigned && stored !== signed) throw new TarFormatError("header checksum mismatch")
  const magic = block.toString("latin1", 257, 265)
  const ustar = magic === "ustar\u000000"
  const gnu = magic === "ustar  \u0000"
  if (!ustar && !gnu) throw new TarFormatError("not a ustar or GNU tar header")
  const flag = block[156] ?? 0
  const base = str(block, 0, 100)
  const prefix = ustar ? str(block, 345, 155) : ""
  return {
    flag,
    type: typeName(flag),
    name: prefix === "" ? base : `${prefix}/${base}`,
    linkname: str(block, 157, 100),
    size: num(block, 124, 12, "size"),
    mode: num(block, 100, 8, "mode"),
    uid: num(block, 108, 8, "uid"),
    gid: num(block, 116, 8, "gid"),
    mtime: num(block, 136, 12, "mtime"),
    ustar
  }
}

/** Pax records (`<len> <key>=<value>\n`), in order; malformed data is a TarFormatError. */
export const parsePax = (data: Buffer): ReadonlyArray<readonly [string, string]> => {
  const records: Array<readonly [string, string]> = []
  let at = 0
  while (at < data.length) {
    const space = data.indexOf(0x20, at)
    if (space === -1 || space - at > 20) throw new TarFormatError("malformed pax record")
    const length = Number(data.toString("latin1", at, space))
    if (!Number.isSafeInteger(length) || length <= space - at + 1 || at + length > data.length) {
      throw new TarFormatError("malformed pax record length")
    }
    if (data[at + length - 1] !== 0x0a) throw new TarFormatError("pax record without its newline")
    const record = data.subarray(space + 1, at + length - 1)
    const eq = record.indexOf(0x3d)
    if (eq <= 0) throw new TarFormatError("pax record without a key")
    records.push([record.toString("utf8", 0, eq), record.toString("utf8", eq + 1)])
    at += length
  }
  return records
}

/** `n` as a tar numeric field of `length` bytes: octal with a NUL, or base-256 when it does not fit. */
const writeNum = (block: Buffer, offset: number, length: number, n: number) => {
  const octal = n.toString(8)
  if (octal.length < length) {
    block.write(octal.padStart(length - 1, "0"), offset, "latin1")
    block[offset + length - 1] = 0
    return
  }
  let v = n
  for (let i = length - 1; i >= 1; i--) {
    block[offset + i] = v % 256
    v = Math.floor(v / 256)
  }
  block[offset] = 0x80
}

const writeChecksum = (block: Buffer) => {
  block.fill(0x20, 148, 156)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += block[i] ?? 0
  block.write(sum.toString(8).padStart(6, "0"), 148, "latin1")
  block[154] = 0
  block[155] = 0x20
}

const padTo = (data: Buffer): Buffer => {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK
  return pad === 0 ? data : Buffer.concat([data, Buffer.alloc(pad)])
}

export interface EncodedEntry {
  /** The member name as tar should see it (`./…`). */
  readonly name: string
  /** Type flag: "0" file, "1" hard link, "2" symlink, "5" directory. */
  readonly flag: "0" | "1" | "2" | "5"
  readonly size: number
  readonly linkname: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly mtime: number
}

const fitsField = (value: string) => Buffer.byteLength(value) < 100

const header = (e: EncodedEntry, name: string, linkname: string, flag: string) => {
  const block = Buffer.alloc(BLOCK)
  block.write(name, 0, 100, "utf8")
  writeNum(block, 100, 8, e.mode)
  writeNum(block, 108, 8, e.uid)
  writeNum(block, 116, 8, e.gid)
  writeNum(block, 124, 12, e.size)
  writeNum(block, 136, 12, e.mtime)
  block.write(flag, 156, "latin1")
  block.write(linkname, 157, 100, "utf8")
  block.write("ustar\u000000", 257, "latin1")
  writeChecksum(block)
  return block
}

const paxRecord = (key: string, value: string): Buffer => {
  const body = ` ${key}=${value}\n`
  const bodyLength = Buffer.byteLength(body)
  let length = bodyLength + String(bodyLength).length
  if (String(length).length + bodyLength !== length) length = bodyLength + String(length).length
  return Buffer.from(`${length}${body}`, "utf8")
}

/**
 * The blocks for one entry, written from checked values only: a ustar header, preceded by a pax `x`
 * header with `path`/`linkpath` when a name does not fit its field.
 */
export const entryBlocks = (e: EncodedEntry): Buffer => {
  const records: Array<Buffer> = []
  if (!fitsField(e.name)) records.push(paxRecord("path", e.name))
  if (!fitsField(e.linkname)) records.push(paxRecord("linkpath", e.linkname))
  const main = header(e, fitsField(e.name) ? e.name : "././@LongName", fitsField(e.linkname) ? e.linkname : "././@LongLink", e.flag)
  if (records.length === 0) return main
  const data = Buffer.concat(records)
  const pax = header({ ...e, size: data.length, mode: 0o644, uid: 0, gid: 0 }, "././@PaxHeader", "", "x")
  return Buffer.concat([pax, padTo(data), main])
}

/** Bytes of padding after `size` bytes of entry data. */
export const paddingOf = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK
