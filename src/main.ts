#!/usr/bin/env node
/**
 * `denia`: with no arguments (or `daemon`) the daemon, otherwise the CLI.
 * Each side is loaded only when chosen, so a client command never loads the
 * daemon graph (ADR 0013). The CLI is the bundle the build writes to
 * dist/bundle/ when it is there and current, else the same modules unbundled.
 * `denia push` starts packing its context first, while the CLI loads (ADR 0810),
 * and `denia push --no-follow` runs without the CLI when its lean path can (ADR 0811).
 */
import * as fs from "node:fs"
import type { runPush } from "./cli/client/leanPush.js"

const args = process.argv.slice(2)

const mtime = (file: URL) => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1
/** `bundled` when it is there and not older than `compiled` (a `tsc` run without the bundling step), else `compiled`. */
const current = (bundled: string, compiled: string): string => {
  const bundle = new URL(bundled, import.meta.url)
  return mtime(bundle) >= mtime(new URL(compiled, import.meta.url)) ? bundle.href : compiled
}

/** `denia push`'s early start and lean path (leanPush.ts); false when the full CLI is to run the command. */
const pushedLean = async (): Promise<boolean> => {
  // help, the wizard and completions never reach the push command, which takes (or discards) the early pack
  if (args[0] !== "push" || args.some((a) => ["--help", "-h", "--wizard", "--completions"].includes(a))) return false
  // it declines before it takes or prints anything; a failure after that is its own to report
  return import(current("./bundle/push/leanPush.js", "./cli/client/leanPush.js")).then(
    (m: { readonly runPush: typeof runPush }) => m.runPush(args, process.cwd()),
    () => false
  )
}

if (args.length === 0 || (args.length === 1 && args[0] === "daemon")) {
  await import("./cli/daemonMain.js")
} else if (args.length === 1 && args[0] === "--version") {
  const pkg: unknown = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8"))
  process.stdout.write(`${typeof pkg === "object" && pkg !== null && "version" in pkg ? String(pkg.version) : "unknown"}\n`)
} else if (!(await pushedLean())) {
  await import(current("./bundle/app.js", "./cli/app.js"))
}
