/**
 * The image a Dockerfile's final stage is built `FROM`, for the base prewarm (basePrewarm.ts, ADR 0805).
 * Only `FROM` lines are read: `FROM [--platform=<p>] <ref> [AS <name>]`; a `FROM <name>` of an earlier
 * stage is followed to that stage's image. Comments, blank lines, line continuations (the `# escape=`
 * directive included) and heredoc bodies are skipped like the builder skips them. What cannot be known
 * without building — a ref or platform with a build argument, `scratch`, an unknown flag — is `skip`.
 */

export type FinalBase =
  | { readonly _tag: "image"; readonly reference: string; readonly platform: string | undefined }
  | { readonly _tag: "skip"; readonly reason: string }

const skip = (reason: string): FinalBase => ({ _tag: "skip", reason })

interface Stage {
  readonly name: string | undefined
  readonly reference: string
  readonly platform: string | undefined
}

/** Logical instructions: continuations joined, comments and heredoc bodies dropped. */
const instructions = (text: string): Array<string> => {
  const lines = text.split(/\r?\n/)
  // parser directives: only at the very top, before any instruction, comment or blank line
  let escape = "\\"
  for (const line of lines) {
    const m = /^\s*#\s*([a-z]+)\s*=\s*(\S+)\s*$/i.exec(line)
    if (m === null) break
    if (m[1]?.toLowerCase() === "escape" && (m[2] === "`" || m[2] === "\\")) escape = m[2]
  }
  const out: Array<string> = []
  let current: string | undefined
  let heredocs: Array<{ readonly word: string; readonly tabs: boolean }> = []
  for (const raw of lines) {
    const first = heredocs[0]
    if (first !== undefined) {
      if ((first.tabs ? raw.replace(/^\t+/, "") : raw) === first.word) heredocs = heredocs.slice(1)
      continue
    }
    // comment lines are dropped, inside a continuation too
    if (/^\s*#/.test(raw)) continue
    if (current === undefined && raw.trim() === "") continue
    const continued = raw.trimEnd().endsWith(escape)
    const part = continued ? raw.trimEnd().slice(0, -escape.length) : raw
    current = current === undefined ? part : `${current} ${part}`
    if (continued) continue
    out.push(current.trim())
    for (const m of current.matchAll(/<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g)) {
      heredocs.push({ word: m[3] ?? "", tabs: m[1] === "-" })
    }
    current = undefined
  }
  if (current !== undefined && current.trim() !== "") out.push(current.trim())
  return out
}

const parseFrom = (args: ReadonlyArray<string>): Stage | string => {
  let platform: string | undefined
  let i = 0
  for (; i < args.length && (args[i] ?? "").startsWith("--"); i++) {
    const flag = args[i] ?? ""
    const m = /^--platform=(.+)$/i.exec(flag)
    if (m === null) return `FROM has flag ${flag.split("=")[0] ?? flag}`
    platform = m[1]
  }
  const reference = args[i]
  if (reference === undefined) return "a FROM line names no image"
  const rest = args.slice(i + 1)
  if (rest.length === 0) return { name: undefined, reference, platform }
  if (rest.length === 2 && rest[0]?.toLowerCase() === "as") return { name: rest[1]?.toLowerCase(), reference, platform }
  return `FROM ${reference} has unexpected words after the image`
}

/** The final stage's base image of `dockerfile` (its text), or why there is none to prewarm. */
export const finalBaseImage = (dockerfile: string): FinalBase => {
  const stages: Array<Stage> = []
  for (const line of instructions(dockerfile)) {
    const words = line.split(/\s+/)
    if (words[0]?.toLowerCase() !== "from") continue
    const stage = parseFrom(words.slice(1))
    if (typeof stage === "string") return skip(stage)
    stages.push(stage)
  }
  let index = stages.length - 1
  let stage = stages[index]
  if (stage === undefined) return skip("the Dockerfile has no FROM line")
  // `FROM <name>` of an earlier stage: that stage's image (names are case-insensitive)
  for (;;) {
    const name = stage.reference.toLowerCase()
    const earlier = stages.slice(0, index).findLastIndex((s) => s.name === name)
    if (earlier < 0) break
    index = earlier
    const next = stages[earlier]
    if (next === undefined) break
    stage = { ...next, platform: stage.platform ?? next.platform }
  }
  if (stage.reference.includes("$")) return skip(`FROM ${stage.reference} depends on a build argument`)
  if (stage.platform?.includes("$") === true) return skip(`FROM --platform=${stage.platform} depends on a build argument`)
  if (stage.reference.toLowerCase() === "scratch") return skip("the final stage is FROM scratch")
  return { _tag: "image", reference: stage.reference, platform: stage.platform }
}
