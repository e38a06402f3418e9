#!/usr/bin/env node
/**
 * `denia`: with no arguments (or `daemon`) the daemon, otherwise the CLI.
 * Each side is loaded only when chosen, so a client command never loads the
 * daemon graph (ADR 0013). The CLI is the bundle the build writes to
 * dist/bundle/ when it is there and current, else the same modules unbundled.
 * `denia push` starts packing its context first, while the CLI loads (ADR 0810);
 * `denia push --no-follow` runs without loading the CLI when its lean path can (ADR 0811).
 */
import * as fs from "node:fs"

const args = process.argv.slice(2)

/** The lean push declined (or is not this command): the full CLI runs it. */
const pushedLean = async (): Promise<boolean> => {
  // help, the wizard and completions never reach the push command, which takes (or discards) the early pack
  if (args[0] !== "push" || args.some((a) => ["--help", "-h", "--wizard", "--completions"].includes(a))) return false
  await import("./cli/client/prepack.js").then((m) => m.startEarlyPrepack(process.cwd()), () => undefined)
  if (!args.includes("--no-follow")) return false
  // it declines before it takes or prints anything; a failure after that is its own to report
  return import("./cli/client/leanPush.js").then((m) => m.leanPush(args, process.cwd()), () => false)
}

if (args.length === 0 || (args.length === 1 && args[0] === "daemon")) {
  await import("./cli/daemonMain.js")
} else if (args.length === 1 && args[0] === "--version") {
  const pkg: unknown = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8"))
  process.stdout.write(`${typeof pkg === "object" && pkg !== null && "version" in pkg ? String(pkg.version) : "unknown"}\n`)
} else if (!(await pushedLean())) {
  // the bundle, unless it is missing or older than the compiled CLI (a `tsc` run without the bundling step)
  const mtime = (file: URL) => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1
  const bundle = new URL("./bundle/app.js", import.meta.url)
  const fresh = mtime(bundle) >= mtime(new URL("./cli/app.js", import.meta.url))
  await import(fresh ? bundle.href : "./cli/app.js")
}
