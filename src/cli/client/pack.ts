/**
 * What `denia push` uploads: the files of the build context — tracked and untracked files as git sees
 * them (honouring `.gitignore`; a plain directory walk outside a Git work tree, honouring a `.gitignore`
 * at the context root), minus `.dockerignore` and `.deniaignore` patterns, never `.git/`, always the
 * Dockerfile — packed by GNU tar piped into `zstd -T0` (child processes, no per-entry JavaScript) when
 * both are installed, else in process with tar-stream (packInProcess.ts, loaded only then). The
 * compressed output is buffered ahead of the upload (up to `PACK_BUFFER_BYTES`), so packing goes on
 * while the CLI still resolves the service (ADR 0810). Loaded lazily by the push command, and by
 * src/main.ts before the CLI itself (prepack.ts): it imports nothing heavy.
 */
import ignore from "ignore"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import type { Socket } from "node:net"
import * as path from "node:path"
import { PassThrough, type Readable } from "node:stream"
import { exited } from "../../platform/archive/children.js"

export interface ContextFile {
  /** Context-relative POSIX path. */
  readonly rel: string
  readonly size: number
  readonly mode: number
  readonly link: string | undefined
}

export interface ContextListing {
  readonly files: ReadonlyArray<ContextFile>
  readonly totalBytes: number
  readonly viaGit: boolean
}

const readIgnore = (dir: string, name: string): Promise<string> => fsp.readFile(path.join(dir, name), "utf8").catch(() => "")

/** Compressed bytes the packer may run ahead of the upload. */
export const PACK_BUFFER_BYTES = 64 * 1024 * 1024

/** `git ls-files` of the work tree, or undefined outside one (or without git); a child, so the CLI goes on loading meanwhile. */
const gitFiles = (contextDir: string): Promise<ReadonlyArray<string> | undefined> =>
  new Promise((resolve) => {
    const child = spawn("git", ["-C", contextDir, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      stdio: ["ignore", "pipe", "ignore"]
    })
    const chunks: Array<Buffer> = []
    let size = 0
    child.stdout.on("data", (c: Buffer) => {
      size += c.length
      if (size > 512 * 1024 * 1024) child.kill("SIGKILL")
      else chunks.push(c)
    })
    child.once("error", () => resolve(undefined))
    child.once("close", (code) =>
      resolve(code === 0 ? Buffer.concat(chunks).toString("utf8").split("\0").filter((p) => p !== "") : undefined))
  })

const walk = async (root: string): Promise<Array<string>> => {
  const out: Array<string> = []
  const visit = async (rel: string) => {
    for (const e of await fsp.readdir(path.join(root, rel), { withFileTypes: true })) {
      const p = rel === "" ? e.name : `${rel}/${e.name}`
      if (e.name === ".git") continue
      if (e.isDirectory()) await visit(p)
      else out.push(p)
    }
  }
  await visit("")
  return out
}

const statQuietly = (p: string): fs.Stats | undefined => {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false })
  } catch {
    return undefined // not a directory on the way, permission: not packable
  }
}

/** The files of `contextDir` that go into the upload; `dockerfile` (context-relative) is always among them. */
export const listContext = async (contextDir: string, dockerfile: string): Promise<ContextListing> => {
  const tracked = await gitFiles(contextDir)
  const candidates = tracked ?? (await walk(contextDir))
  const rules = ignore()
  if (tracked === undefined) rules.add(await readIgnore(contextDir, ".gitignore"))
  rules.add(await readIgnore(contextDir, ".dockerignore"))
  rules.add(await readIgnore(contextDir, ".deniaignore"))
  const dockerfileRel = path.posix.normalize(dockerfile.split(path.sep).join("/"))
  const chosen = new Set(candidates.filter((p) => !p.split("/").includes(".git") && !rules.ignores(p)))
  chosen.add(dockerfileRel)
  const files: Array<ContextFile> = []
  let totalBytes = 0
  // synchronous stats: the CLI has nothing else to do meanwhile, and one syscall each beats a thread-pool
  // round trip per entry on trees of many small files
  for (const rel of [...chosen].sort()) {
    const st = statQuietly(path.join(contextDir, rel))
    // deleted but still tracked, or not a file git would list: skip
    if (st === undefined || !(st.isFile() || st.isSymbolicLink())) continue
    const link = st.isSymbolicLink() ? fs.readlinkSync(path.join(contextDir, rel)) : undefined
    files.push({ rel, size: st.isFile() ? st.size : 0, mode: st.mode & 0o777, link })
    totalBytes += st.isFile() ? st.size : 0
  }
  return { files, totalBytes, viaGit: tracked !== undefined }
}

/** The `n` largest files, for the "your context is big" hint. */
export const largestFiles = (listing: ContextListing, n = 10): ReadonlyArray<ContextFile> =>
  [...listing.files].sort((a, b) => b.size - a.size).slice(0, n)

let zstdInstalled: boolean | undefined
let gnuTarInstalled: boolean | undefined
const hasZstd = (): boolean => (zstdInstalled ??= spawnSync("zstd", ["--version"], { stdio: "ignore" }).status === 0)
/** GNU tar (not busybox or bsdtar): the native packer needs its `--null -T`, `--checkpoint` and `--hard-dereference`. */
const hasGnuTar = (): boolean => (gnuTarInstalled ??= (() => {
  const r = spawnSync("tar", ["--version"], { encoding: "utf8" })
  return r.status === 0 && r.stdout.includes("GNU tar")
})())

const exitsCleanly = (cmd: string, args: ReadonlyArray<string>, stdoutHas?: string): Promise<boolean> =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "ignore"] })
    let out = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (c: string) => (out = (out + c).slice(0, 4096)))
    child.once("error", () => resolve(false))
    child.once("close", (code) => resolve(code === 0 && (stdoutHas === undefined || out.includes(stdoutHas))))
  })

/**
 * Whether the native packer can run (GNU tar and zstd), found without blocking: prepack.ts asks while the
 * file listing runs, instead of `packContext`'s synchronous default asking after it (ADR 0811).
 */
export const nativePackerAvailable = async (): Promise<boolean> => {
  const [tar, zstd] = await Promise.all([
    gnuTarInstalled ?? exitsCleanly("tar", ["--version"], "GNU tar"),
    zstdInstalled ?? exitsCleanly("zstd", ["--version"])
  ])
  gnuTarInstalled = tar
  zstdInstalled = zstd
  return tar && zstd
}

/** GNU tar's record (its default blocking factor of 20 × 512 bytes) and how many records make one checkpoint. */
const RECORD_BYTES = 20 * 512
const RECORDS_PER_CHECKPOINT = 100

/** ustar's name and link fields hold 100 bytes; GNU tar's posix format puts a longer or non-ASCII value in a pax record. */
const USTAR_FIELD_BYTES = 100
/** ustar's size field: 11 octal digits. */
const USTAR_MAX_SIZE = 0o77777777777

/** The bytes of one pax record `<len> <key>=<value>\n`, whose length counts its own digits. */
const paxRecordBytes = (key: string, value: string): number => {
  const base = 3 + Buffer.byteLength(key) + Buffer.byteLength(value)
  let n = base + 1
  while (base + String(n).length !== n) n = base + String(n).length
  return n
}

const needsPax = (value: string): boolean => Buffer.byteLength(value) > USTAR_FIELD_BYTES || /[^\x00-\x7f]/.test(value)

/** The tar bytes of one listed file as `gnuTarArgs` writes it: a pax header when a field needs one, the header, the data padded to 512. */
const entryBytes = (f: ContextFile): number => {
  let pax = 0
  if (needsPax(f.rel)) pax += paxRecordBytes("path", f.rel)
  if (f.link !== undefined && needsPax(f.link)) pax += paxRecordBytes("linkpath", f.link)
  if (f.size > USTAR_MAX_SIZE) pax += paxRecordBytes("size", String(f.size))
  return (pax > 0 ? 512 + Math.ceil(pax / 512) * 512 : 0) + 512 + Math.ceil(f.size / 512) * 512
}

/**
 * The exact size of the uncompressed tar of `listing` as GNU tar writes it with `gnuTarArgs` (headers,
 * pax records, data padded to 512, two end blocks, padded to its record), provided the files still have
 * the listed sizes: the progress bar's total, and the `Content-Length` of a plain-tar upload (which
 * checks it against what tar wrote, ADR 0820). Pure.
 */
export const tarBytes = (listing: ContextListing): number => {
  let n = 1024
  for (const f of listing.files) n += entryBytes(f)
  return Math.ceil(n / RECORD_BYTES) * RECORD_BYTES
}

/** A packed context the CLI relays: the stream of the packers' output. */
export interface StreamedPack {
  readonly stream: Readable
  /** `tar`: not compressed (a daemon on this host, ADR 0820). */
  readonly format: "zstd" | "gzip" | "tar"
  /** `gnu-tar`: `tar | zstd -T0` (or `tar` alone) child processes; `tar-stream`: the in-process fallback. */
  readonly packer: "gnu-tar" | "tar-stream"
  /** The stream's exact length when it is known up front (a plain tar: `tarBytes`), for a `Content-Length`. */
  readonly length?: number
  readonly sendInto?: undefined
}

/**
 * A plain tar the packers write into the upload's socket themselves (sendPlain.ts, ADR 0820), started
 * only then: `sendInto` gets the socket with the request head on it and resolves with the bytes written.
 */
export interface DirectPack {
  readonly stream?: undefined
  readonly format: "tar"
  readonly packer: "gnu-tar"
  readonly length: number
  readonly sendInto: (socket: Socket, onWritten: (bytes: number) => void) => Promise<number>
}

export type PackedContext = StreamedPack | DirectPack

/** The arguments of the native packer: the NUL-separated file list on stdin, normalised owners and times, no recursion, no hardlinks. */
export const gnuTarArgs = (contextDir: string): ReadonlyArray<string> => [
  "-c",
  "-f",
  "-",
  "-C",
  contextDir,
  "--format=posix",
  "--pax-option=delete=atime,delete=ctime",
  "--no-recursion",
  "--hard-dereference",
  "--owner=0",
  "--group=0",
  "--numeric-owner",
  "--mtime=@0",
  "--mode=u-s,g-s,-t",
  `--checkpoint=${RECORDS_PER_CHECKPOINT}`,
  "--checkpoint-action=echo=#%u",
  "--null",
  "--verbatim-files-from",
  "-T",
  "-"
]

/** The file list `gnuTarArgs` reads on stdin: every listed path, NUL-terminated. */
export const tarFileList = (listing: ContextListing): Buffer => Buffer.from(listing.files.map((f) => `${f.rel}\0`).join(""))

/**
 * Reads `gnuTarArgs`' stderr: checkpoint lines become `onPacked` byte counts (tar's `%u` is the number
 * of records written so far, a multiple of the checkpoint interval); anything else is kept (the last
 * 4 KiB) for an error message, which the returned function gives.
 */
export const readTarStderr = (stderr: Readable, onPacked: (bytes: number) => void): () => string => {
  let kept = ""
  let records = 0
  stderr.setEncoding("utf8")
  stderr.on("data", (chunk: string) => {
    for (const line of chunk.split("\n")) {
      const m = /#(\d+)$/.exec(line)
      if (m !== null) {
        const n = Number(m[1])
        onPacked((n - records) * RECORD_BYTES)
        records = n
      } else if (line.trim() !== "") kept = `${kept}${line}\n`.slice(-4096)
    }
  })
  return () => kept
}

/**
 * `tar -c --null -T - | zstd -T0` as child processes: tar's output goes straight into zstd's stdin (no
 * JavaScript in between), only the compressed stream passes through this process. The stream ends once
 * both exited cleanly (tar's 1, "a file changed as we read it", is accepted) and fails otherwise.
 * Without `compress`, tar's own output is the stream.
 */
const packNative = (contextDir: string, listing: ContextListing, onPacked: (bytes: number) => void, compress: boolean): Readable => {
  const out = new PassThrough({ highWaterMark: PACK_BUFFER_BYTES })
  const tarChild = spawn("tar", gnuTarArgs(contextDir), { stdio: ["pipe", "pipe", "pipe"] })
  const zstd = compress ? spawn("zstd", ["-q", "-c", "-3", "-T0"], { stdio: [tarChild.stdout, "pipe", "ignore"] }) : undefined
  // zstd holds the read end now; the parent's copy would keep tar from seeing zstd die
  if (zstd !== undefined) tarChild.stdout.destroy()
  tarChild.stdin.on("error", () => undefined)
  tarChild.stdin.end(tarFileList(listing))
  const stderr = readTarStderr(tarChild.stderr, onPacked)
  const packed = zstd?.stdout ?? tarChild.stdout
  packed.pipe(out, { end: false })
  const packedOut = new Promise<void>((resolve) => packed.on("end", resolve))
  Promise.all([exited(tarChild), zstd === undefined ? 0 : exited(zstd), packedOut]).then(([tarCode, zstdCode]) => {
    if ((tarCode === 0 || tarCode === 1) && zstdCode === 0) out.end()
    else {
      const why = tarCode !== 0 && tarCode !== 1 ? `tar exited ${String(tarCode)}: ${stderr().trim()}` : `zstd exited ${String(zstdCode)}`
      out.destroy(new Error(why))
    }
  }, (e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))))
  // torn down early (the daemon refused the upload): stop both packers
  out.on("close", () => {
    for (const child of [tarChild, zstd]) {
      if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    }
  })
  return out
}

/** The in-process packer (packInProcess.ts, tar-stream), loaded only on hosts without GNU tar or the zstd binary. */
const packFallback = (contextDir: string, listing: ContextListing, onPacked: (bytes: number) => void) => {
  const zstd = hasZstd()
  const out = new PassThrough({ highWaterMark: PACK_BUFFER_BYTES })
  import("./packInProcess.js").then(
    (m) => {
      const packed = m.packInProcess(contextDir, listing, onPacked, zstd)
      packed.on("error", (e) => out.destroy(e))
      packed.pipe(out)
      out.on("close", () => packed.destroy())
    },
    (e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e)))
  )
  return { stream: out, format: zstd ? "zstd" as const : "gzip" as const }
}

/**
 * The compressed tar of the listed files as a stream: GNU tar piped into zstd when both are installed,
 * else the in-process packer (zstd binary or gzip). `onPacked` receives uncompressed tar bytes as they
 * are produced (the progress bar's measure: the compressed size is not known up front). With `plain`
 * (the daemon runs on this host, ADR 0820) and GNU tar, the tar is not compressed and its length is
 * known: `tarBytes`.
 */
export const packContext = (
  contextDir: string,
  listing: ContextListing,
  onPacked: (bytes: number) => void = () => undefined,
  native: boolean = hasGnuTar() && hasZstd(),
  plain = false
): StreamedPack =>
  native && plain
    ? { stream: packNative(contextDir, listing, onPacked, false), format: "tar", packer: "gnu-tar", length: tarBytes(listing) }
    : native
    ? { stream: packNative(contextDir, listing, onPacked, true), format: "zstd", packer: "gnu-tar" }
    : { ...packFallback(contextDir, listing, onPacked), packer: "tar-stream" as const }
