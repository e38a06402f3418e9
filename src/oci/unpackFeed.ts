/**
 * A layer fed chunk by chunk (ADR 0805, 0808): the bytes of a layer that is still downloading go into
 * the unpacker as they arrive. The compression is told by the first 4 bytes; until then they are held.
 * `write` resolves once the unpacker's input buffer has room again (backpressure), `end` once the whole
 * layer is applied, `abort` stops the application and says whether it had already failed on its own.
 */
import { once } from "node:events"
import { PassThrough, type Readable } from "node:stream"
import { decompressor, sniffBytes } from "./decompress.js"

export interface LayerFeed {
  readonly write: (chunk: Buffer) => Promise<void>
  readonly end: () => Promise<void>
  /** Bytes written but not yet taken in by the unpacker (at most its input buffer after `write` resolved). */
  readonly queued: () => number
  /** Stops the application; the failure that had stopped it before, if any (a refused entry, say). */
  readonly abort: () => Promise<{ readonly error: unknown } | undefined>
}

/** `apply` is the unpacker's stream application (`UnpackerCore.applyLayerStream` for one layer). */
export const openFeed = (
  apply: (stream: Readable, toDestroy: ReadonlyArray<Readable>) => Promise<void>
): LayerFeed => {
  const input = new PassThrough({ highWaterMark: 1024 * 1024 })
  // errors surface through the application's promise; a write after it stopped must not crash the process
  input.on("error", () => undefined)
  let running: Promise<void> | undefined
  let failed: { readonly error: unknown } | undefined
  let aborted = false
  let decompress: Readable | undefined
  let head: Array<Buffer> = []
  let headBytes = 0

  const start = () => {
    const first = Buffer.concat(head)
    head = []
    const d = decompressor(sniffBytes(first))
    if (d !== undefined) d.on("error", () => undefined)
    decompress = d
    const stream = d === undefined ? input : input.pipe(d)
    const p = apply(stream, d === undefined ? [input] : [input, d])
    p.catch((error: unknown) => {
      if (!aborted) failed = { error }
    })
    running = p
    return first
  }
  const put = async (buf: Buffer) => {
    if (input.write(buf)) return
    await Promise.race([once(input, "drain"), running])
  }

  return {
    write: async (chunk) => {
      if (failed !== undefined) throw failed.error
      if (running === undefined) {
        head.push(chunk)
        headBytes += chunk.length
        if (headBytes < 4) return
        return put(start())
      }
      return put(chunk)
    },
    end: async () => {
      if (failed !== undefined) throw failed.error
      // a layer of fewer than 4 bytes
      if (running === undefined) await put(start())
      input.end()
      await running
    },
    queued: () => (running === undefined ? headBytes : 0) + input.writableLength,
    abort: async () => {
      const before = failed
      aborted = true
      input.destroy()
      // the decompressor is not destroyed with its source (`pipe`): the application ends when it is
      decompress?.destroy()
      await running?.catch(() => undefined)
      return before
    }
  }
}
