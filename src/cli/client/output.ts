import { Console, Effect } from "effect"

/** Prints rows as aligned columns, or JSON with `--json`. */
export const printRows = <A>(json: boolean, value: unknown, rows: ReadonlyArray<A>, columns: ReadonlyArray<readonly [string, (a: A) => string]>) => {
  if (json) return Console.log(JSON.stringify(value, null, 2))
  const header = columns.map(([h]) => h.toUpperCase())
  const cells = rows.map((r) => columns.map(([, f]) => f(r)))
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)))
  const line = (cs: ReadonlyArray<string>) => cs.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd()
  return Effect.forEach([header, ...cells], (cs) => Console.log(line(cs)), { discard: true })
}

export const printValue = (json: boolean, value: unknown, text: string) =>
  Console.log(json ? JSON.stringify(value, null, 2) : text)
