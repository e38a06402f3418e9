/** Header and body helpers for /v2 requests: upload ranges, byte ranges, bounded body reads. */
import { Effect } from "effect"
import type { IncomingMessage } from "node:http"
import type { Readable } from "node:stream"
import { type DistributionError, ociError } from "./errors.js"

/** The `Range` header of an upload session: `0-<last byte>` (`0-0` when empty). */
export const rangeHeader = (size: number) => `0-${Math.max(size - 1, 0)}`

export const contentLength = (req: IncomingMessage): number | undefined => {
  const v = req.headers["content-length"]
  if (v === undefined) return undefined
  const n = Number(v)
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

/** `Content-Range: <start>-<end>` (also tolerates a `bytes ` prefix). */
export const parseContentRange = (v: string | undefined): { start: number; end: number } | undefined | "invalid" => {
  if (v === undefined) return undefined
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/\d+|\/\*)?$/.exec(v.trim())
  if (m === null) return "invalid"
  return { start: Number(m[1]), end: Number(m[2]) }
}

/** `Range: bytes=a-b` / `bytes=a-` / `bytes=-n` against a blob of `size` bytes. */
export const parseRange = (v: string, size: number): { start: number; end: number } | undefined => {
  const m = /^bytes=(\d*)-(\d*)$/.exec(v.trim())
  if (m === null || (m[1] === "" && m[2] === "")) return undefined
  let start: number
  let end: number
  if (m[1] === "") {
    const suffix = Number(m[2])
    if (suffix === 0) return undefined
    start = Math.max(size - suffix, 0)
    end = size - 1
  } else {
    start = Number(m[1])
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1)
  }
  return start <= end && start < size ? { start, end } : undefined
}

export const readBody = (req: Readable, max: number) =>
  Effect.async<Buffer, DistributionError>((resume) => {
    const chunks: Array<Buffer> = []
    let total = 0
    let done = false
    req.on("data", (c: Buffer) => {
      if (done) return
      total += c.length
      if (total > max) {
        done = true
        req.resume()
        resume(Effect.fail(ociError("SIZE_INVALID", `manifest is larger than ${max} bytes`, { limit: max }, 413)))
        return
      }
      chunks.push(c)
    })
    req.on("end", () => {
      if (!done) {
        done = true
        resume(Effect.succeed(Buffer.concat(chunks)))
      }
    })
    req.on("error", (e) => {
      if (!done) {
        done = true
        resume(Effect.fail(ociError("BLOB_UPLOAD_INVALID", `request body failed: ${e.message}`)))
      }
    })
  })
