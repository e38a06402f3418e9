/**
 * Help and usage text from @effect/cli, made fit for a terminal of 100
 * columns and for pipes: plain text (no colour codes, on a terminal or not),
 * no filler lines that only restate an option's type, and every
 * line at most 100 columns (long command rows become a usage line and an
 * indented description). Applied through the Effect `Console` the CLI runs
 * with, only to text that carries ANSI styling (help docs always do; shell
 * completion scripts, which must stay byte-exact, never do).
 */
import { Console, Effect } from "effect"
import { stripAnsi } from "./terminal.js"

export const HELP_WIDTH = 100

const FILLER = new Set([
  "A user-defined piece of text.",
  "A user-defined piece of text that is confidential.",
  "A true or false value.",
  "An integer.",
  "A floating point number.",
  "This setting is optional.",
  "This option can be set from environment variables."
])

/** Word-wraps `text` to `width` columns, every line prefixed by `indent`. Pure. */
export const wrap = (text: string, indent: string, width: number = HELP_WIDTH): ReadonlyArray<string> => {
  const lines: Array<string> = []
  let current = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (current !== "" && indent.length + current.length + 1 + word.length > width) {
      lines.push(indent + current)
      current = word
    } else current = current === "" ? word : `${current} ${word}`
  }
  if (current !== "" || lines.length === 0) lines.push(indent + current)
  // a single word longer than the width stays whole (a URL, a flag list): it cannot be broken safely
  return lines
}

const COMMAND_ROW = /^(\s*)- (.*?\S)\s{2,}(\S.*)$/

/** One help document as plain text, ≤ `width` columns, without filler lines. Pure. */
export const tidyHelp = (text: string, width: number = HELP_WIDTH): string => {
  const out: Array<string> = []
  for (const raw of stripAnsi(text).split("\n")) {
    const line = raw.trimEnd()
    const trimmed = line.trim()
    if (FILLER.has(trimmed)) continue
    const defaults = /^(\s*)This setting is optional\. Defaults to: (.*)$/.exec(line)
    if (defaults !== null) {
      out.push(...wrap(`Default: ${defaults[2] ?? ""}`, defaults[1] ?? "", width))
      continue
    }
    if (line.length <= width) {
      out.push(line)
      continue
    }
    const row = COMMAND_ROW.exec(line)
    if (row !== null) {
      const indent = row[1] ?? ""
      const [first = "", ...rest] = wrap(row[2] ?? "", `${indent}    `, width)
      out.push(`${indent}- ${first.trimStart()}`, ...rest)
      out.push(...wrap(row[3] ?? "", `${indent}      `, width))
      continue
    }
    out.push(...wrap(trimmed, /^\s*/.exec(line)?.[0] ?? "", width))
  }
  // dropping filler leaves runs of blank lines: keep one
  return out.join("\n").replace(/\n{3,}/g, "\n\n")
}

/** Help docs come styled (CSI sequences); completion scripts and data never do. */
const styled = (text: string): boolean => text.includes("\u001b[")

const render = (stream: NodeJS.WriteStream, args: ReadonlyArray<unknown>): void => {
  const text = args.map(String).join(" ")
  stream.write(`${styled(text) ? tidyHelp(text) : text}\n`)
}

/** Runs `effect` with a Console that prints help and usage errors as tidy plain text, everything else unchanged. */
export const withCliConsole = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Console.consoleWith((base) =>
    Console.withConsole(effect, {
      ...base,
      log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => render(process.stdout, args)),
      error: (...args: ReadonlyArray<unknown>) => Effect.sync(() => render(process.stderr, args))
    })
  )
