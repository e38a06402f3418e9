/**
 * Runs one build command (buildah) as its own process group, streaming stdout and stderr line by line.
 * Interrupting the effect (timeout, shutdown) kills the whole group.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"

export interface ProcessResult {
  readonly exitCode: number | null
  readonly signal: string | null
}

export interface RunOptions {
  readonly argv: ReadonlyArray<string>
  readonly cwd?: string
  readonly env?: Readonly<Record<string, string>>
  /** Called for every complete output line (stdout and stderr interleaved as they arrive). */
  readonly onLine: (line: string) => void
}

const MAX_LINE = 16 * 1024

export const runProcess = (options: RunOptions): Effect.Effect<ProcessResult, Error> =>
  Effect.async<ProcessResult, Error>((resume) => {
    const [cmd, ...args] = options.argv
    if (cmd === undefined) {
      resume(Effect.fail(new Error("empty command")))
      return
    }
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      // a fixed, minimal environment: nothing of the daemon's own environment reaches a build
      env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LANG: "C.UTF-8", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true
    })
    const splitter = () => {
      let rest = ""
      return {
        push: (chunk: Buffer) => {
          rest += chunk.toString("utf8")
          let nl = rest.indexOf("\n")
          while (nl >= 0) {
            options.onLine(rest.slice(0, nl).replace(/\r$/, ""))
            rest = rest.slice(nl + 1)
            nl = rest.indexOf("\n")
          }
          if (rest.length > MAX_LINE) {
            options.onLine(rest)
            rest = ""
          }
        },
        flush: () => {
          if (rest !== "") options.onLine(rest)
          rest = ""
        }
      }
    }
    const out = splitter()
    const err = splitter()
    child.stdout.on("data", out.push)
    child.stderr.on("data", err.push)
    let done = false
    child.on("error", (e) => {
      if (done) return
      done = true
      resume(Effect.fail(e))
    })
    child.on("close", (code, signal) => {
      if (done) return
      done = true
      out.flush()
      err.flush()
      resume(Effect.succeed({ exitCode: code, signal }))
    })
    return Effect.sync(() => {
      if (done || child.pid === undefined) return
      try {
        process.kill(-child.pid, "SIGKILL")
      } catch {
        // already gone
      }
    })
  })
