/**
 * Running the host's networking tools (`ip`, `nft`) with a script on stdin:
 * one process per batch keeps a replica's network setup to a few
 * milliseconds. Failures carry the tool's stderr for the log (never for clients).
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { readFile, writeFile } from "node:fs/promises"
import { NetworkCommandFailed } from "./errors.js"

export interface CommandResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `file args` with `input` on stdin; never fails (a spawn error is code null). */
export const runRaw = (file: string, args: ReadonlyArray<string>, input = ""): Effect.Effect<CommandResult> =>
  Effect.async<CommandResult>((resume) => {
    const child = spawn(file, [...args], { stdio: ["pipe", "pipe", "pipe"] })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (b: Buffer) => out.push(b))
    child.stderr.on("data", (b: Buffer) => err.push(b))
    child.stdin.on("error", () => undefined)
    child.on("error", (e) => resume(Effect.succeed({ code: null, stdout: "", stderr: e.message })))
    child.on(
      "close",
      (code) => resume(Effect.succeed({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }))
    )
    child.stdin.end(input)
  })

/** Runs a command that must exit 0. */
export const run = (step: string, file: string, args: ReadonlyArray<string>, input = "") =>
  Effect.flatMap(
    runRaw(file, args, input),
    (r) =>
      r.code === 0
        ? Effect.succeed(r.stdout)
        : Effect.fail(
          new NetworkCommandFailed({ step, message: `${file} ${args.join(" ")}: ${r.stderr.trim() || `exit ${String(r.code)}`}` })
        )
  )

/** `ip -batch -` (optionally inside a named netns); `-force` is not used: the first failing line fails the batch. */
export const ipBatch = (step: string, lines: ReadonlyArray<string>, netns?: string) =>
  lines.length === 0
    ? Effect.void
    : Effect.asVoid(run(step, "ip", [...(netns === undefined ? [] : ["-n", netns]), "-batch", "-"], `${lines.join("\n")}\n`))

/** `nft -f -` with a whole script (one transaction). */
export const nftApply = (step: string, script: string) => Effect.asVoid(run(step, "nft", ["-f", "-"], script))

const sysctlPath = (key: string) => `/proc/sys/${key.replace(/\./g, "/")}`

export const readSysctl = (key: string) =>
  Effect.tryPromise({
    try: () => readFile(sysctlPath(key), "utf8").then((s) => s.trim()),
    catch: (e) => new NetworkCommandFailed({ step: `read ${key}`, message: `cannot read ${key}`, cause: e })
  })

export const writeSysctl = (key: string, value: string) =>
  Effect.tryPromise({
    try: () => writeFile(sysctlPath(key), value),
    catch: (e) => new NetworkCommandFailed({ step: `set ${key}`, message: `cannot set ${key}=${value}`, cause: e })
  })
