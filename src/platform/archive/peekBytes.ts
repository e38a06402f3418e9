/** The first bytes of a stream, put back: what an archive is (zstd, gzip, plain tar) before it is read. */
import type { Readable } from "node:stream"

/** Reads the first `n` bytes (or fewer at the end) of `stream` and puts them back. */
export const peekBytes = (stream: Readable, n: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let have = 0
    const done = () => {
      stream.off("readable", onReadable)
      stream.off("end", done)
      stream.off("error", reject)
      const head = Buffer.concat(chunks)
      if (head.length > 0) stream.unshift(head)
      resolve(head)
    }
    const onReadable = () => {
      let chunk: Buffer | null
      while (have < n && (chunk = stream.read() as Buffer | null) !== null) {
        chunks.push(chunk)
        have += chunk.length
      }
      if (have >= n) done()
    }
    stream.on("readable", onReadable)
    stream.on("end", done)
    stream.on("error", reject)
  })
