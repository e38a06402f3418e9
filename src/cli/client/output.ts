/**
 * How client commands print: aligned tables or `--json`. Every cell and every
 * text line may carry server-provided text, so it goes through the terminal
 * escaping of ../terminal.ts (JSON is already escaped by JSON.stringify).
 */
import { Effect } from "effect"
import { escapeControl, forStream, printErr, printOut } from "../terminal.js"

export type Column<A> = readonly [string, (a: A) => string]

/** Table lines for `rows`: cells escaped one by one (a cell never spans lines), padded to the widest. Pure. */
export const renderTable = <A>(rows: ReadonlyArray<A>, columns: ReadonlyArray<Column<A>>, escape: boolean): ReadonlyArray<string> => {
  const header = columns.map(([h]) => h.toUpperCase())
  const cells = rows.map((r) => columns.map(([, f]) => (escape ? escapeControl(f(r)) : f(r))))
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)))
  const line = (cs: ReadonlyArray<string>) => cs.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd()
  return [header, ...cells].map(line)
}

export const printJson = (value: unknown) => Effect.sync(() => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`))

/** Prints rows as aligned columns, or `value` as JSON with `--json`. */
export const printRows = <A>(json: boolean, value: unknown, rows: ReadonlyArray<A>, columns: ReadonlyArray<Column<A>>) =>
  json
    ? printJson(value)
    : Effect.sync(() => {
      const lines = renderTable(rows, columns, process.stdout.isTTY === true)
      process.stdout.write(`${lines.join("\n")}\n`)
    })

/** Prints `value` as JSON with `--json`, else `text` (escaped on a terminal; `\n` kept). */
export const printValue = (json: boolean, value: unknown, text: string) => (json ? printJson(value) : printText(text))

export const printText = (text: string) => Effect.sync(() => printOut(text))

/** A hint or progress note on stderr (so `--json` stdout stays parseable). */
export const printNote = (text: string) => Effect.sync(() => printErr(text))

/** One cell-safe string (a name inside a sentence): escaped on a terminal stdout. */
export const safe = (text: string) => forStream(process.stdout, text)
