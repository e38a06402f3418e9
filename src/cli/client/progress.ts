/**
 * Transfer progress on stderr: a one-line bar redrawn in place on a terminal (`\r`, at most every
 * 100 ms), nothing on a pipe (callers print their own plain lines there). `renderBar` is the pure
 * rendering, shared by `denia push` and `denia volumes backup|restore`.
 */
import { formatBytes } from "../../domain/bytes.js"

const WIDTH = 24

export interface BarState {
  readonly label: string
  /** Bytes done of `total` (what the bar fills with). */
  readonly done: number
  /** The expected size; null when unknown (no bar, bytes and rate only). */
  readonly total: number | null
  /** The total is an estimate (shown with `~`). */
  readonly estimate: boolean
  /** Bytes on the wire when they differ from `done` (compressed upload); the rate is of these. */
  readonly sent: number | undefined
  readonly elapsedMs: number
  /** The transfer finished: the bar is full whatever the (estimated) total said. */
  readonly complete: boolean
}

/** `label [#######.................]  30% 60.0 MiB / 200.0 MiB · sent 41.2 MiB at 20.6 MiB/s`. Pure. */
export const renderBar = (s: BarState): string => {
  const secs = Math.max(s.elapsedMs / 1000, 0.001)
  const wire = s.sent ?? s.done
  const rate = `${formatBytes(Math.round(wire / secs))}/s`
  const bar = s.total !== null && s.total > 0
    ? (() => {
      const ratio = s.complete ? 1 : Math.min(s.done / s.total, 1)
      const filled = Math.round(ratio * WIDTH)
      return `[${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${`${Math.floor(ratio * 100)}%`.padStart(4)} `
    })()
    : ""
  const amount = `${formatBytes(s.done)}${s.total === null ? "" : ` / ${s.estimate ? "~" : ""}${formatBytes(s.total)}`}`
  const tail = s.sent === undefined ? ` at ${rate}` : ` · sent ${formatBytes(s.sent)} at ${rate}`
  return `${s.label} ${bar}${amount}${tail}`
}

export interface Progress {
  /** More of the total is done. */
  readonly add: (bytes: number) => void
  /** More bytes went on the wire (only for transfers whose wire bytes differ from the total's). */
  readonly addSent: (bytes: number) => void
  /** The transfer finished: the bar is drawn full and the line ended. */
  readonly done: () => void
}

export interface BarStream {
  readonly isTTY?: boolean | undefined
  write(chunk: string): unknown
}

export interface BarOptions {
  readonly estimate?: boolean
  /** Show the wire bytes beside the bar (`sent … at …`). */
  readonly wire?: boolean
  readonly stream?: BarStream
  readonly now?: () => number
}

/** A bar for `label` against `total` (null: unknown); draws only when the stream is a terminal. */
export const progressBar = (label: string, total: number | null, options: BarOptions = {}): Progress => {
  const stream = options.stream ?? process.stderr
  const now = options.now ?? Date.now
  const tty = stream.isTTY === true
  const started = now()
  let done = 0
  let sent = 0
  let lastDraw = Number.NEGATIVE_INFINITY
  const draw = (final: boolean) => {
    const state: BarState = {
      label,
      done,
      total,
      estimate: options.estimate === true,
      sent: options.wire === true ? sent : undefined,
      elapsedMs: now() - started,
      complete: final
    }
    stream.write(`\r\x1b[2K${renderBar(state)}${final ? "\n" : ""}`)
  }
  const tick = () => {
    if (!tty) return
    const t = now()
    if (t - lastDraw >= 100) {
      lastDraw = t
      draw(false)
    }
  }
  return {
    add: (bytes) => {
      done += bytes
      tick()
    },
    addSent: (bytes) => {
      sent += bytes
      tick()
    },
    done: () => {
      if (tty) draw(true)
    }
  }
}
