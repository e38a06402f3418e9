/**
 * Build-context tarballs for upload tests, including hostile ones (tar-stream lets a test write any header).
 */
import { spawnSync } from "node:child_process"
import * as zlib from "node:zlib"
import * as tar from "tar-stream"

export interface TarEntrySpec {
  readonly name: string
  readonly type?: "file" | "directory" | "symlink" | "link" | "character-device" | "block-device" | "fifo"
  readonly content?: string | Buffer
  readonly linkname?: string
  /** Declared size for data-less hostile headers (defaults to the content length). */
  readonly mode?: number
}

export const tarOf = async (entries: ReadonlyArray<TarEntrySpec>): Promise<Buffer> => {
  const pack = tar.pack()
  const chunks: Array<Buffer> = []
  pack.on("data", (c: unknown) => {
    if (Buffer.isBuffer(c)) chunks.push(c)
  })
  const done = new Promise<void>((resolve, reject) => {
    pack.on("end", resolve)
    pack.on("error", reject)
  })
  for (const e of entries) {
    const type = e.type ?? "file"
    const body = type === "file" ? (e.content ?? "") : ""
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        {
          name: e.name,
          type,
          mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
          ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
          ...(type === "character-device" || type === "block-device" ? { devmajor: 1, devminor: 3 } : {})
        },
        body,
        (err) => (err ? reject(err) : resolve())
      )
    )
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

export const gzipped = (data: Buffer): Buffer => zlib.gzipSync(data)

export const zstded = (data: Buffer): Buffer => {
  const r = spawnSync("zstd", ["-q", "-c", "-3"], { input: data, maxBuffer: 1024 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr.toString()}`)
  return r.stdout
}

/** The tar inside a gzip or zstd body. */
export const plainOf = (body: Buffer): Buffer => {
  if (body[0] === 0x1f) return zlib.gunzipSync(body)
  const r = spawnSync("zstd", ["-d", "-c", "-q"], { input: body, maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) throw new Error("zstd -d failed")
  return r.stdout
}

/** Archives every upload must refuse: [name, rule, entry, status, compressed body]. */
export const hostileCorpus = async (): Promise<ReadonlyArray<readonly [string, string, string, number, Buffer]>> => [
  ["absolute path", "absolute-path", "/etc/evil", 400, gzipped(await tarOf([{ name: "/etc/evil", content: "x" }]))],
  ["parent path", "parent-path", "../evil", 400, gzipped(await tarOf([{ name: "../evil", content: "x" }]))],
  ["nested parent path", "parent-path", "a/../../evil", 400, zstded(await tarOf([{ name: "a/../../evil", content: "x" }]))],
  ["absolute symlink", "link-escape", "etc", 400, gzipped(await tarOf([{ name: "etc", type: "symlink", linkname: "/etc" }]))],
  ["climbing symlink", "link-escape", "a/up", 400, gzipped(await tarOf([{ name: "a/up", type: "symlink", linkname: "../../.." }]))],
  [
    "write through a link",
    "path-through-link",
    "d/l",
    400,
    gzipped(await tarOf([{ name: "d", type: "symlink", linkname: "." }, { name: "d/l", type: "symlink", linkname: ".." }]))
  ],
  [
    "entry below a file",
    "entry-conflict",
    "a/b",
    400,
    gzipped(await tarOf([{ name: "a", content: "x" }, { name: "a/b", content: "y" }]))
  ],
  [
    "file over a directory",
    "entry-conflict",
    "d",
    400,
    zstded(await tarOf([{ name: "d", type: "directory" }, { name: "d/x", content: "x" }, { name: "d", content: "y" }]))
  ],
  ["hardlink", "hardlink", "passwd", 400, gzipped(await tarOf([{ name: "passwd", type: "link", linkname: "/etc/passwd" }]))],
  ["char device", "device", "null", 400, gzipped(await tarOf([{ name: "null", type: "character-device" }]))],
  ["fifo", "device", "pipe", 400, gzipped(await tarOf([{ name: "pipe", type: "fifo" }]))],
  [
    "too many entries",
    "too-many-entries",
    "f5",
    413,
    gzipped(await tarOf(Array.from({ length: 6 }, (_, i) => ({ name: `f${i}`, content: "x" }))))
  ],
  ["too large unpacked", "too-large-unpacked", "big", 413, gzipped(await tarOf([{ name: "big", content: Buffer.alloc(3 * 1024 * 1024) }]))],
  ["not compressed", "format", "", 400, await tarOf([{ name: "Dockerfile", content: "FROM scratch\n" }])],
  ["not a tar", "format", "", 400, gzipped(Buffer.from("this is not a tar archive at all, just text".repeat(40)))],
  ["corrupt zstd", "format", "", 400, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(4096, 0x5a)])],
  ["truncated zstd", "format", "", 400, zstded(await tarOf([{ name: "a", content: "x".repeat(100_000) }])).subarray(0, 40)]
]

/** Caps matching the corpus: at most 5 entries, 2 MiB unpacked, 1 MiB compressed. */
export const corpusCaps = { maxBytes: 1024 * 1024, maxUnpackedBytes: 2 * 1024 * 1024, maxEntries: 5 } as const
