/**
 * Server-Sent Events over an append-only file: backlog from a byte offset,
 * then follow, with keep-alive comments, until `finished` reports a final
 * event. Used for deployment logs and service logs. With `subscribe` (the
 * deployment log's append notification) a quiet follower wakes as soon as a
 * line is appended instead of at its next poll; the poll stays as the fallback
 * (and for the final status, which is not a line).
 */
import { Effect, Option, Stream } from "effect"
import * as fs from "node:fs/promises"

export interface FollowOptions {
  readonly path: string
  /** Byte offset to start at (resume). */
  readonly since: number
  /** Checked when no new bytes arrive; `Some(data)` ends the stream with `event: end`. */
  readonly finished: Effect.Effect<Option.Option<string>>
  readonly pollMs?: number
  readonly keepAliveMs?: number
  /** Registers a callback run after each append to the file; returns its removal. */
  readonly subscribe?: (onAppend: () => void) => () => void
}

const encoder = new TextEncoder()

const readFrom = async (path: string, offset: number): Promise<{ bytes: Buffer; size: number }> => {
  const handle = await fs.open(path, "r").catch(() => undefined)
  if (handle === undefined) return { bytes: Buffer.alloc(0), size: 0 }
  try {
    const { size } = await handle.stat()
    if (size <= offset) return { bytes: Buffer.alloc(0), size }
    const length = Math.min(size - offset, 1024 * 1024)
    const bytes = Buffer.alloc(length)
    const { bytesRead } = await handle.read(bytes, 0, length, offset)
    return { bytes: bytes.subarray(0, bytesRead), size }
  } finally {
    await handle.close()
  }
}

/** One SSE `log` event per complete line; the event id is the byte offset after the line. */
const eventsFor = (chunk: Buffer, start: number): { text: string; consumed: number } => {
  let text = ""
  let consumed = 0
  let lineStart = 0
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] !== 10) continue
    const line = chunk.subarray(lineStart, i).toString("utf8").replace(/\r/g, "")
    consumed = i + 1
    text += `id: ${start + consumed}\nevent: log\ndata: ${line}\n\n`
    lineStart = i + 1
  }
  return { text, consumed }
}

/**
 * Waits `pollMs`, or less when `subscribe` reports an append or the file is already longer than `offset`
 * (checked after subscribing, so an append between the last read and the subscription is not missed).
 */
const pause = (path: string, offset: number, pollMs: number, subscribe: FollowOptions["subscribe"]): Effect.Effect<void> =>
  subscribe === undefined ? Effect.sleep(pollMs) : Effect.async<void>((resume) => {
    let done = false
    const wake = () => {
      if (done) return
      done = true
      clearTimeout(timer)
      unsubscribe()
      resume(Effect.void)
    }
    const timer = setTimeout(wake, pollMs)
    const unsubscribe = subscribe(wake)
    fs.stat(path).then((st) => st.size > offset && wake(), () => undefined)
    return Effect.sync(() => {
      done = true
      clearTimeout(timer)
      unsubscribe()
    })
  })

export const followFile = (options: FollowOptions): Stream.Stream<Uint8Array> => {
  const pollMs = options.pollMs ?? 200
  const keepAliveMs = options.keepAliveMs ?? 15_000
  return Stream.unwrap(
    Effect.sync(() => {
      let offset = Math.max(0, options.since)
      let quietSince = Date.now()
      let done = false
      const step: Effect.Effect<Option.Option<Uint8Array>> = Effect.gen(function*() {
        if (done) return Option.none()
        for (;;) {
          const { bytes, size } = yield* Effect.promise(() => readFrom(options.path, offset))
          if (size < offset) offset = 0 // rotated or truncated: start over
          const { text, consumed } = eventsFor(bytes, offset)
          if (consumed > 0) {
            offset += consumed
            quietSince = Date.now()
            return Option.some(encoder.encode(text))
          }
          const final = yield* options.finished
          if (Option.isSome(final)) {
            // drain what was written before the final status
            const last = yield* Effect.promise(() => readFrom(options.path, offset))
            const tail = eventsFor(last.bytes, offset)
            offset += tail.consumed
            done = true
            return Option.some(encoder.encode(`${tail.text}event: end\ndata: ${final.value}\n\n`))
          }
          if (Date.now() - quietSince >= keepAliveMs) {
            quietSince = Date.now()
            return Option.some(encoder.encode(": keep-alive\n\n"))
          }
          yield* pause(options.path, offset, pollMs, options.subscribe)
        }
      })
      // An opening comment flushes the response headers at once, so clients see the stream open.
      return Stream.concat(
        Stream.make(encoder.encode(": stream open\nretry: 2000\n\n")),
        Stream.repeatEffectOption(Effect.flatMap(step, Option.match({ onNone: () => Effect.fail(Option.none()), onSome: Effect.succeed })))
      )
    })
  )
}
