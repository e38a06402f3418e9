/**
 * What `denia push` uploads: the files of the build context — tracked and untracked files as git sees
 * them (honouring `.gitignore`; a plain directory walk outside a Git work tree, honouring a `.gitignore`
 * at the context root), minus `.dockerignore` and `.deniaignore` patterns, never `.git/`, always the
 * Dockerfile — packed as a tar and compressed with the `zstd` binary when there is one, else gzip.
 * Loaded lazily by the push command (tar-stream, ignore).
 */
import ignore from "ignore"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { PassThrough, type Readable } from "node:stream"
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
  for (const rel of [...chosen].sort()) {
    const st = await fsp.lstat(path.join(contextDir, rel)).catch(() => undefined)
    // deleted but still tracked, or not a file git would list: skip
    if (st === undefined || !(st.isFile() || st.isSymbolicLink())) continue
    const link = st.isSymbolicLink() ? await fsp.readlink(path.join(contextDir, rel)) : undefined
    files.push({ rel, size: st.isFile() ? st.size : 0, mode: st.mode & 0o777, link })
    totalBytes += st.isFile() ? st.size : 0
  }
  return { files, totalBytes, viaGit: tracked !== undefined }
}

/** The `n` largest files, for the "your context is big" hint. */
export const largestFiles = (listing: ContextListing, n = 10): ReadonlyArray<ContextFile> =>
  [...listing.files].sort((a, b) => b.size - a.size).slice(0, n)

const hasZstd = (): boolean => spawnSync("zstd", ["--version"], { stdio: "ignore" }).status === 0

/** The compressed tar of the listed files as a stream (zstd when available, else gzip). */
export const packContext = (contextDir: string, listing: ContextListing): { readonly stream: Readable; readonly format: string } => {
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
  if (hasZstd()) {
    const child = spawn("zstd", ["-q", "-c", "-3", "-T0"], { stdio: ["pipe", "pipe", "ignore"] })
    const out = new PassThrough({ highWaterMark: 1024 * 1024 })
    pack.pipe(child.stdin)
    child.stdout.pipe(out)
    child.on("error", (e) => out.destroy(e))
    pack.on("error", (e) => out.destroy(e))
    return { stream: out, format: "zstd" }
  }
  const gzip = zlib.createGzip({ level: 3, chunkSize: 1024 * 1024 })
  pack.on("error", (e) => gzip.destroy(e))
  return { stream: pack.pipe(gzip), format: "gzip" }
}
