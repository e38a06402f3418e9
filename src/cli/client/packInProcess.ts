/**
 * The in-process packer of `denia push` (tar-stream), for hosts without GNU tar or the zstd binary:
 * the same entries as the native packer (pack.ts), compressed by the `zstd` binary when it is there,
 * else gzip. Loaded by pack.ts only when it is needed.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { PassThrough, type Readable, Transform } from "node:stream"
import * as zlib from "node:zlib"
import * as tar from "tar-stream"
import type { ContextListing } from "./pack.js"

/** The compressed tar of `listing` (zstd when `zstd`, else gzip); `onPacked` gets uncompressed tar bytes. */
export const packInProcess = (
  contextDir: string,
  listing: ContextListing,
  onPacked: (bytes: number) => void,
  zstd: boolean
): Readable => {
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
  if (zstd) {
    const child = spawn("zstd", ["-q", "-c", "-3", "-T0"], { stdio: ["pipe", "pipe", "ignore"] })
    const out = new PassThrough({ highWaterMark: 1024 * 1024 })
    tarStream.pipe(child.stdin)
    child.stdout.pipe(out)
    child.on("error", (e) => out.destroy(e))
    pack.on("error", (e) => out.destroy(e))
    out.on("close", () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    })
    return out
  }
  const gzip = zlib.createGzip({ level: 3, chunkSize: 1024 * 1024 })
  pack.on("error", (e) => gzip.destroy(e))
  return tarStream.pipe(gzip)
}
