/**
 * Chain snapshots (ADR 0805): the rootfs as it stood after the first k layers of an image, kept under
 * `oci-cache/chains/<key>/` (`rootfs/` + `state.json`), so that the next image sharing those k layers —
 * a rebuild after a one-line change, an app built `FROM` a base deployed before — clones the tree and
 * applies only the layers above instead of decompressing and writing every layer again.
 *
 * The clone hard-links regular files and recreates directories and symlinks. That is safe because no
 * writer ever changes a file of a rootfs in place: the unpacker replaces a path (unlink, then
 * `O_CREAT|O_EXCL`) and removes whiteouts by unlinking, bundles are only ever overlay lower layers
 * (read-only), and removal is `rm`. Directory metadata lives in `state.json` and is applied by the
 * unpacker's `finish` on the clone, so directories are never shared.
 *
 * The key hashes the layer digests (each verified when the snapshot was made) and the ownership shift;
 * a snapshot is trusted like the blob cache (a cached blob is also used without asking the registry).
 */
import { Schema } from "effect"
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { UnpackState } from "./unpack.js"

const DirMetaJson = Schema.Struct({
  mode: Schema.Number,
  uid: Schema.Number,
  gid: Schema.Number,
  mtime: Schema.optional(Schema.String)
})

const ChainStateJson = Schema.Struct({
  layers: Schema.Array(Schema.String),
  bytes: Schema.Number,
  entries: Schema.Number,
  dirs: Schema.Array(Schema.Tuple(Schema.String, DirMetaJson))
})

const decodeState = Schema.decodeUnknownOption(Schema.parseJson(ChainStateJson))

export interface ChainSnapshot {
  /** How many of the image's layers the snapshot already holds. */
  readonly layers: number
  readonly rootfs: string
  readonly state: UnpackState
}

const errno = (e: unknown): string | undefined => e instanceof Error && "code" in e && typeof e.code === "string" ? e.code : undefined

/**
 * Copies the tree at `src` into the existing directory `dst`: directories are created (0700; the
 * unpacker applies their metadata), regular files hard-linked (copied when the inode has no link left),
 * symlinks recreated with their ownership and times. Nothing is followed: entry types come from readdir
 * and symlinks are never traversed.
 */
export const cloneTree = (src: string, dst: string): void => {
  const asRoot = typeof process.getuid === "function" && process.getuid() === 0
  const stack = [""]
  while (stack.length > 0) {
    const rel = stack.pop() ?? ""
    for (const e of fsSync.readdirSync(path.join(src, rel), { withFileTypes: true })) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`
      const from = path.join(src, r)
      const to = path.join(dst, r)
      if (e.isDirectory()) {
        fsSync.mkdirSync(to, { mode: 0o700 })
        stack.push(r)
      } else if (e.isFile()) {
        try {
          fsSync.linkSync(from, to)
        } catch (err) {
          // no link left on the inode, or another file system: a copy
          if (errno(err) !== "EMLINK" && errno(err) !== "EXDEV") throw err
          fsSync.copyFileSync(from, to, fsSync.constants.COPYFILE_EXCL)
          const st = fsSync.lstatSync(from)
          if (asRoot) fsSync.chownSync(to, st.uid, st.gid)
          fsSync.chmodSync(to, st.mode & 0o7777)
          fsSync.utimesSync(to, st.atime, st.mtime)
        }
      } else if (e.isSymbolicLink()) {
        const st = fsSync.lstatSync(from)
        fsSync.symlinkSync(fsSync.readlinkSync(from), to)
        if (asRoot) fsSync.lchownSync(to, st.uid, st.gid)
        fsSync.lutimesSync(to, st.atime, st.mtime)
      }
      // the unpacker writes no other types (devices and fifos are skipped)
    }
  }
}

/**
 * `cloneTree` without blocking the event loop (ADR 0805): `cp -a -l` in a child process — directories
 * are created with the source's attributes (a snapshot's and an unfinished rootfs's are all 0700, their
 * real metadata still pending in `state.json`), regular files and symlinks hard-linked, nothing
 * followed. When `cp` fails (a link count at its limit, another file system, no `cp`), `dst` is emptied
 * and the in-process `cloneTree`, which copies what it cannot link, runs instead. `signal` ends the
 * child (the caller removes `dst`).
 */
export const cloneTreeOffLoop = async (src: string, dst: string, signal?: AbortSignal): Promise<void> => {
  const ok = await new Promise<boolean>((resolve) => {
    execFile("cp", ["-a", "-l", "--", `${src}/.`, dst], { signal, maxBuffer: 1024 * 1024 }, (err) => resolve(err === null))
  })
  if (ok) return
  if (signal?.aborted === true) throw new Error("clone cancelled")
  for (const name of await fs.readdir(dst)) await fs.rm(path.join(dst, name), { recursive: true, force: true })
  cloneTree(src, dst)
}

export class ChainSnapshots {
  /** `salt` separates snapshots made under another ownership shift. */
  constructor(readonly dir: string, private readonly salt: string) {}

  key(layers: ReadonlyArray<string>): string {
    return createHash("sha256").update(`${this.salt}\n${layers.join("\n")}`).digest("hex")
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 })
    for (const name of await fs.readdir(this.dir)) {
      if (name.startsWith(".tmp-")) await fs.rm(path.join(this.dir, name), { recursive: true, force: true })
    }
  }

  private async read(key: string): Promise<(UnpackState & { readonly layers: ReadonlyArray<string> }) | undefined> {
    const text = await fs.readFile(path.join(this.dir, key, "state.json"), "utf8").catch(() => undefined)
    if (text === undefined) return undefined
    const decoded = decodeState(text)
    return decoded._tag === "Some" ? decoded.value : undefined
  }

  /** Does a snapshot of exactly `layers` exist? (touched for the GC when it does) */
  async has(layers: ReadonlyArray<string>): Promise<boolean> {
    const key = this.key(layers)
    const state = await this.read(key)
    if (state === undefined || state.layers.join("\n") !== layers.join("\n")) return false
    const now = new Date()
    await fs.utimes(path.join(this.dir, key, "state.json"), now, now).catch(() => undefined)
    return true
  }

  /** A private temp directory in the snapshot area (removed by the caller, or by `init` after a crash). */
  tempDir(): Promise<string> {
    return fs.mkdtemp(path.join(this.dir, ".tmp-"))
  }

  /**
   * Makes `tmp` (from `tempDir`, holding `rootfs/` with all of `layers` applied, `state` pending) the
   * snapshot of `layers` without copying it; false when one exists already (`tmp` is then the
   * caller's to remove).
   */
  async publish(layers: ReadonlyArray<string>, tmp: string, state: UnpackState): Promise<boolean> {
    const final = path.join(this.dir, this.key(layers))
    if (fsSync.existsSync(final)) return false
    await fs.writeFile(path.join(tmp, "state.json"), JSON.stringify({ layers, ...state }), { mode: 0o600 })
    try {
      await fs.rename(tmp, final)
      return true
    } catch (e) {
      if (errno(e) === "EEXIST" || errno(e) === "ENOTEMPTY") return false
      throw e
    }
  }

  /** The snapshot holding the longest proper prefix of `layers` (at least one layer), touched for the GC. */
  async longest(layers: ReadonlyArray<string>): Promise<ChainSnapshot | undefined> {
    for (let k = layers.length - 1; k >= 1; k--) {
      const prefix = layers.slice(0, k)
      const key = this.key(prefix)
      const state = await this.read(key)
      if (state === undefined || state.layers.join("\n") !== prefix.join("\n")) continue
      const now = new Date()
      await fs.utimes(path.join(this.dir, key, "state.json"), now, now).catch(() => undefined)
      return { layers: k, rootfs: path.join(this.dir, key, "rootfs"), state }
    }
    return undefined
  }

  /** Keeps the tree at `rootfs` (the first `layers.length` layers applied, `state` pending) unless one exists. */
  async save(layers: ReadonlyArray<string>, rootfs: string, state: UnpackState): Promise<boolean> {
    const key = this.key(layers)
    const final = path.join(this.dir, key)
    if (fsSync.existsSync(final)) return false
    const tmp = await this.tempDir()
    try {
      await fs.mkdir(path.join(tmp, "rootfs"), { mode: 0o700 })
      await cloneTreeOffLoop(rootfs, path.join(tmp, "rootfs"))
      await fs.writeFile(path.join(tmp, "state.json"), JSON.stringify({ layers, ...state }), { mode: 0o600 })
      await fs.rename(tmp, final)
      return true
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true })
      if (errno(e) === "EEXIST" || errno(e) === "ENOTEMPTY") return false
      throw e
    }
  }

  /**
   * Removes snapshots not used for `retentionMs` unless every layer they hold is pinned (a serving or
   * retained image stands on them). Returns how many were removed.
   */
  async gc(retentionMs: number, pinned: ReadonlySet<string>, now: number = Date.now()): Promise<number> {
    let removed = 0
    for (const name of await fs.readdir(this.dir).catch(() => [] as Array<string>)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue
      const st = await fs.stat(path.join(this.dir, name, "state.json")).catch(() => undefined)
      const state = await this.read(name)
      const kept = st !== undefined && state !== undefined &&
        (now - st.mtimeMs < retentionMs || state.layers.every((l) => pinned.has(l)))
      if (kept) continue
      await fs.rm(path.join(this.dir, name), { recursive: true, force: true })
      removed++
    }
    return removed
  }
}
