/**
 * Unpacks a stored upload into a fresh build-context directory. The archive is checked again on the way
 * (rules.ts), files are created with O_EXCL|O_NOFOLLOW and without set-id bits, and nothing is ever
 * written through a symbolic link (the rules refuse entries below links; parents are created here).
 */
import { constants as C, createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { pipeline } from "node:stream/promises"
import type { Compression } from "../../oci/decompress.js"
import { scanArchive, type ScanResult } from "./archive.js"
import type { ArchiveCaps } from "./rules.js"

const removeExisting = async (abs: string, keepDirectory: boolean) => {
  const st = await fs.lstat(abs).catch(() => undefined)
  if (st === undefined) return
  if (keepDirectory && st.isDirectory()) return
  await fs.rm(abs, { recursive: true, force: true })
}

export const unpackArchive = async (
  file: string,
  format: Exclude<Compression, "none">,
  caps: ArchiveCaps,
  dest: string
): Promise<ScanResult> => {
  await fs.mkdir(dest, { recursive: true, mode: 0o755 })
  return scanArchive(createReadStream(file, { highWaterMark: 1024 * 1024 }), format, caps, async (rel, entry) => {
    if (rel === "") {
      entry.resume()
      return
    }
    const abs = path.join(dest, rel)
    await fs.mkdir(path.dirname(abs), { recursive: true, mode: 0o755 })
    const mode = (entry.header.mode ?? 0o644) & 0o777
    switch (entry.header.type) {
      case "directory":
        await removeExisting(abs, true)
        await fs.mkdir(abs, { recursive: true, mode: mode | 0o700 })
        entry.resume()
        return
      case "symlink":
        await removeExisting(abs, false)
        await fs.symlink(entry.header.linkname ?? "", abs)
        entry.resume()
        return
      default: {
        await removeExisting(abs, false)
        const handle = await fs.open(abs, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode | 0o600)
        // the stream closes the handle when it finishes or fails
        await pipeline(entry, handle.createWriteStream())
      }
    }
  })
}
