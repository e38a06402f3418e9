/**
 * What `denia push` uploads: the files of the build context — tracked and untracked files as git sees
 * them (honouring `.gitignore`; a plain directory walk outside a Git work tree, honouring a `.gitignore`
 * at the context root), minus `.dockerignore` and `.deniaignore` patterns, never `.git/`, always the
 * Dockerfile — packed by GNU tar piped into `zstd -T0` (child processes, no per-entry JavaScript) when
 * both are installed, else in process with tar-stream (compressed by the `zstd` binary or gzip).
 * Loaded lazily by the push command (tar-stream, ignore).
 */
import ignore from "ignore"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { PassThrough, type Readable, Transform } from "node:stream"
import * as zlib from "node:zlib"
import * as tar from "tar-stream"

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

const gitFiles = (contextDir: string): ReadonlyArray<string> | undefined => {
  const r = spawnSync("git", ["-C", contextDir, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    encoding: "buffer",
    maxBuffer: 512 * 1024 * 1024
  })
  if (r.status !== 0 || r.error !== undefined) return undefined
  return r.stdout.toString("utf8").split("\0").filter((p) => p !== "")
}

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
  const tracked = gitFiles(contextDir)
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

/** GNU tar's record (its default blocking factor of 20 × 512 bytes) and how many records make one checkpoint. */
const RECORD_BYTES = 20 * 512
const RECORDS_PER_CHECKPOINT = 100

/** The size of the uncompressed tar of `listing` (headers, data padded to 512, end blocks), the bar's total. Pure. */
export const tarBytes = (listing: ContextListing): number => {
  let n = 1024
  for (const f of listing.files) {
    // names that do not fit ustar's 100 + 155 bytes take a pax header (one header block + one data block)
    const long = Buffer.byteLength(f.rel) > 100 || (f.link !== undefined && Buffer.byteLength(f.link) > 100)
    n += 512 + (long ? 1024 : 0) + Math.ceil(f.size / 512) * 512
  }
  return Math.ceil(n / RECORD_BYTES) * RECORD_BYTES
}

export interface PackedContext {
  readonly stream: Readable
  readonly format: "zstd" | "gzip"
  /** `gnu-tar`: `tar | zstd -T0` child processes; `tar-stream`: the in-process fallback. */
  readonly packer: "gnu-tar" | "tar-stream"
}

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

/**
 * `tar -c --null -T - | zstd -T0` as child processes: tar's output goes straight into zstd's stdin (no
 * JavaScript in between), only the compressed stream passes through this process. The stream ends once
 * both exited cleanly (tar's 1, "a file changed as we read it", is accepted) and fails otherwise.
 */
const packNative = (contextDir: string, listing: ContextListing, onPacked: (bytes: number) => void): Readable => {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 })
  const tarChild = spawn("tar", gnuTarArgs(contextDir), { stdio: ["pipe", "pipe", "pipe"] })
  const zstd = spawn("zstd", ["-q", "-c", "-3", "-T0"], { stdio: [tarChild.stdout, "pipe", "ignore"] })
  // zstd holds the read end now; the parent's copy would keep tar from seeing zstd die
  tarChild.stdout.destroy()
  tarChild.stdin.on("error", () => undefined)
  tarChild.stdin.end(Buffer.from(listing.files.map((f) => `${f.rel}\0`).join("")))
  let stderr = ""
  let checkpoints = 0
  tarChild.stderr.setEncoding("utf8")
  tarChild.stderr.on("data", (chunk: string) => {
    for (const line of chunk.split("\n")) {
      const m = /#(\d+)$/.exec(line)
      if (m !== null) {
        const n = Number(m[1])
        onPacked((n - checkpoints) * RECORDS_PER_CHECKPOINT * RECORD_BYTES)
        checkpoints = n
      } else if (line.trim() !== "") stderr = `${stderr}${line}\n`.slice(-4096)
    }
  })
  const exited = (child: typeof tarChild | typeof zstd) =>
    new Promise<number | null>((resolve) => {
      child.on("error", () => resolve(-1))
      child.on("close", (code) => resolve(code))
    })
  zstd.stdout.pipe(out, { end: false })
  const zstdOut = new Promise<void>((resolve) => zstd.stdout.on("end", resolve))
  Promise.all([exited(tarChild), exited(zstd), zstdOut]).then(([tarCode, zstdCode]) => {
    if ((tarCode === 0 || tarCode === 1) && zstdCode === 0) out.end()
    else {
      const why = tarCode !== 0 && tarCode !== 1 ? `tar exited ${String(tarCode)}: ${stderr.trim()}` : `zstd exited ${String(zstdCode)}`
      out.destroy(new Error(why))
    }
  }, (e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))))
  // torn down early (the daemon refused the upload): stop both packers
  out.on("close", () => {
    for (const child of [tarChild, zstd]) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  })
  return out
}

/** The in-process packer (tar-stream), for hosts without GNU tar or the zstd binary. */
const packInProcess = (contextDir: string, listing: ContextListing, onPacked: (bytes: number) => void) => {
  const pack = tar.pack()
  const feed = async () => {
    for (const f of listing.files) {
      const header = { name: f.rel, mode: f.mode, mtime: new Date(0) }
      if (f.link !== undefined) {
        pack.entry({ ...header, type: "symlink", linkname: f.link })
        continue
      }
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ ...header, type: "file", size: f.size }, (err) => (err ? reject(err) : resolve()))
        const source = fs.createReadStream(path.join(contextDir, f.rel), { highWaterMark: 1024 * 1024 })
        source.on("error", reject)
        source.pipe(entry)
      })
    }
    pack.finalize()
  }
  feed().catch((e: unknown) => pack.destroy(e instanceof Error ? e : new Error(String(e))))
  const tarStream = pack.pipe(
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        onPacked(chunk.length)
        done(null, chunk)
      }
    })
  )
  if (hasZstd()) {
    const child = spawn("zstd", ["-q", "-c", "-3", "-T0"], { stdio: ["pipe", "pipe", "ignore"] })
    const out = new PassThrough({ highWaterMark: 1024 * 1024 })
    tarStream.pipe(child.stdin)
    child.stdout.pipe(out)
    child.on("error", (e) => out.destroy(e))
    pack.on("error", (e) => out.destroy(e))
    return { stream: out, format: "zstd" as const }
  }
  const gzip = zlib.createGzip({ level: 3, chunkSize: 1024 * 1024 })
  pack.on("error", (e) => gzip.destroy(e))
  return { stream: tarStream.pipe(gzip), format: "gzip" as const }
}

/**
 * The compressed tar of the listed files as a stream: GNU tar piped into zstd when both are installed,
 * else the in-process packer (zstd binary or gzip). `onPacked` receives uncompressed tar bytes as they
 * are produced (the progress bar's measure: the compressed size is not known up front).
 */
export const packContext = (
  contextDir: string,
  listing: ContextListing,
  onPacked: (bytes: number) => void = () => undefined,
  native: boolean = hasGnuTar() && hasZstd()
): PackedContext =>
  native
    ? { stream: packNative(contextDir, listing, onPacked), format: "zstd", packer: "gnu-tar" }
    : { ...packInProcess(contextDir, listing, onPacked), packer: "tar-stream" }
