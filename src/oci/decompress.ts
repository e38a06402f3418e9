import { Decompress } from "fzstd"
import * as fs from "node:fs/promises"
import { Transform, type TransformCallback } from "node:stream"
import * as zlib from "node:zlib"

export type Compression = "gzip" | "zstd" | "none"

/** Streaming zstd decoder (Node 20 has no zstd in node:zlib). */
export class ZstdDecompressStream extends Transform {
  private readonly decoder: Decompress

  constructor() {
    super()
    this.decoder = new Decompress((chunk) => {
      if (chunk.length > 0) this.push(Buffer.from(chunk))
    })
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.push(chunk)
      callback()
    } catch (e) {
      callback(e instanceof Error ? e : new Error(String(e)))
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true)
      callback()
    } catch (e) {
      callback(e instanceof Error ? e : new Error(`zstd: ${String(e)}`))
    }
  }
}

/** Compression told by the first (up to 4) bytes of a blob. */
export const sniffBytes = (buf: Buffer): Compression => {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return "gzip"
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0xfd2fb528) return "zstd"
  return "none"
}

/** Detects compression from the first bytes of a blob (media types are sometimes wrong). */
export const sniffCompression = async (file: string): Promise<Compression> => {
  const fh = await fs.open(file, "r")
  try {
    const buf = Buffer.alloc(4)
    const { bytesRead } = await fh.read(buf, 0, 4, 0)
    return sniffBytes(buf.subarray(0, bytesRead))
  } finally {
    await fh.close()
  }
}

export const decompressor = (c: Compression): Transform | undefined =>
  c === "gzip" ? zlib.createGunzip({ chunkSize: 512 * 1024 }) : c === "zstd" ? new ZstdDecompressStream() : undefined
