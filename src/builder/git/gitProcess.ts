/**
 * Runs one git command in its own process group with a fixed environment (no
 * user or system config, no terminal prompts), a deadline after which the
 * whole group (git and its ssh or https helpers) is killed, and bounded
 * output capture. Interruption kills the group too.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { GitFailed } from "./errors.js"

export interface GitRun {
  readonly args: ReadonlyArray<string>
  readonly cwd?: string
  readonly env: Readonly<Record<string, string>>
  readonly timeoutMs: number
  /** Largest stdout kept (bytes); more is an error. */
  readonly maxStdout?: number
}

export interface GitOutput {
  readonly code: number
  readonly stdout: string
  /** The last few KiB of stderr (for error classification; never shown verbatim to clients). */
  readonly stderr: string
}

const STDERR_TAIL = 8 * 1024

const killGroup = (pid: number | undefined) => {
  if (pid === undefined) return
  try {
    process.kill(-pid, "SIGKILL")
  } catch {
    // already gone
  }
}

export const runGit = (run: GitRun): Effect.Effect<GitOutput, GitFailed> =>
  Effect.async<GitOutput, GitFailed>((resume) => {
    const child = spawn("git", [...run.args], {
      cwd: run.cwd,
      env: { ...run.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true
    })
    const maxStdout = run.maxStdout ?? 1024 * 1024
    const out: Array<Buffer> = []
    let outBytes = 0
    let overflow = false
    let err = ""
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      killGroup(child.pid)
    }, run.timeoutMs)
    child.stdout.on("data", (d: Buffer) => {
      outBytes += d.length
      if (outBytes > maxStdout) {
        overflow = true
        killGroup(child.pid)
      } else out.push(d)
    })
    child.stderr.on("data", (d: Buffer) => {
      err = (err + d.toString("utf8")).slice(-STDERR_TAIL)
    })
    child.on("error", (cause) => {
      clearTimeout(timer)
      resume(Effect.fail(new GitFailed({ reason: "clone", message: "git could not be started (is git installed?)", cause })))
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      if (timedOut) {
        resume(
          Effect.fail(
            new GitFailed({
              reason: "timeout",
              message: `git ${run.args[0] ?? ""} did not finish within ${Math.round(run.timeoutMs / 1000)} s`
            })
          )
        )
      } else if (overflow) {
        resume(Effect.fail(new GitFailed({ reason: "limit", message: `git ${run.args[0] ?? ""} answered more than ${maxStdout} bytes` })))
      } else {
        resume(Effect.succeed({ code: code ?? -1, stdout: Buffer.concat(out).toString("utf8"), stderr: err }))
      }
    })
    return Effect.sync(() => {
      clearTimeout(timer)
      killGroup(child.pid)
    })
  })
