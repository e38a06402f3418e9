/**
 * Terminal safety for everything the CLI prints: text that came from a server
 * (names, errors, log lines, table cells) may carry ESC, CR, NUL or other
 * C0/C1 control characters that would move the cursor, rewrite earlier lines
 * or change the terminal's state. When the output stream is a terminal they
 * are shown escaped (`\x1b`); when it is a pipe or a file the text is written
 * as it is (a script asked for the bytes). The CLI writes no colour codes
 * (help text is stripped of them, see help.ts).
 */

/** C0 controls, DEL and C1 controls; `\n` (and `\t`) are handled by the caller's mode. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g

const named: Readonly<Record<string, string>> = { "\r": "\\r", "\t": "\\t", "\0": "\\0", "\n": "\\n" }

const escapeChar = (c: string): string => named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`

export interface EscapeOptions {
  /** Keep `\n` (and `\t`) as they are: multi-line log output. Default: escape them too (one table cell, one name). */
  readonly multiline?: boolean
}

/** Escapes every control character (except `\n`/`\t` in multi-line mode). Pure. */
export const escapeControl = (text: string, options: EscapeOptions = {}): string =>
  text.replace(CONTROL, (c) => (options.multiline === true && (c === "\n" || c === "\t") ? c : escapeChar(c)))

/** ANSI escape sequences (CSI … final byte, OSC … BEL/ST): what colour output consists of. */
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g

export const stripAnsi = (text: string): string => text.replace(ANSI, "")

interface Stream {
  readonly isTTY?: boolean | undefined
  write(chunk: string): unknown
}

export const isTerminal = (stream: Stream): boolean => stream.isTTY === true

/** `text` made safe for `stream`: escaped when it is a terminal, unchanged otherwise. */
export const forStream = (stream: Stream, text: string, options: EscapeOptions = {}): string =>
  isTerminal(stream) ? escapeControl(text, options) : text

/** Writes lines of server-derived text to stdout, escaped on a terminal (`\n` kept between lines). */
export const printOut = (text: string, options: EscapeOptions = { multiline: true }): void => {
  process.stdout.write(`${forStream(process.stdout, text, options)}\n`)
}

export const printErr = (text: string, options: EscapeOptions = { multiline: true }): void => {
  process.stderr.write(`${forStream(process.stderr, text, options)}\n`)
}
