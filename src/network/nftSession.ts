/**
 * One long-lived `nft -i` process for the node network's incremental rule
 * updates, so attaching a replica costs no process start. nft reads one
 * line at a time and commits each line as one transaction (all of its
 * `;`-separated commands or none). It prints nothing on success and its
 * errors on stderr, so every line is followed by a sync line that is a
 * deliberate syntax error naming a fresh token: whatever stderr holds before
 * the error about the token belongs to the command line. A process that
 * exits or does not answer within `timeoutMs` is killed and a new one
 * started for the next line; when `nft -i` keeps failing (a build without
 * the interactive CLI), lines go through `nft -f -`, one process each.
 * ADR 0705.
 */
import { Duration, Effect, type Scope } from "effect"
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { nftApply } from "./command.js"
import { NetworkCommandFailed } from "./errors.js"

export interface NftSession {
  /** Applies `commands` as one transaction; fails with nft's message (the caller re-renders the table from its state). */
  readonly run: (step: string, commands: ReadonlyArray<string>) => Effect.Effect<void, NetworkCommandFailed>
  /** Pid of the running `nft -i` (diagnostics and tests), undefined when none runs. */
  readonly pid: Effect.Effect<number | undefined>
}

interface Pending {
  readonly token: string
  readonly done: (errors: string | null, exited: boolean) => void
}

interface Proc {
  readonly child: ChildProcessWithoutNullStreams
  stderr: string
  pending: Pending | undefined
  alive: boolean
}

/** After this many process failures in a row, `nft -f -` per line instead. */
const MAX_PROCESS_FAILURES = 3

export const makeNftSession = (options: { readonly timeoutMs?: number } = {}): Effect.Effect<NftSession, never, Scope.Scope> =>
  Effect.gen(function*() {
    const timeout = Duration.millis(options.timeoutMs ?? 5000)
    const lock = yield* Effect.makeSemaphore(1)
    let proc: Proc | undefined
    let failures = 0
    let seq = 0

    const settle = (p: Proc) => {
      const pending = p.pending
      if (pending === undefined) return
      // the sync line's error: "Error: …\n<token>\n<carets>\n"
      const at = p.stderr.indexOf(`${pending.token}\n`)
      if (at < 0) return
      const end = p.stderr.indexOf("\n", at + pending.token.length + 1)
      if (end < 0) return
      const errorStart = p.stderr.lastIndexOf("Error:", at)
      const before = p.stderr.slice(0, Math.max(0, errorStart)).trim()
      p.stderr = p.stderr.slice(end + 1)
      p.pending = undefined
      pending.done(before === "" ? null : before, false)
    }

    const start = (): Proc => {
      const child = spawn("nft", ["-i"], { stdio: ["pipe", "pipe", "pipe"] })
      const p: Proc = { child, stderr: "", pending: undefined, alive: true }
      const died = () => {
        p.alive = false
        const pending = p.pending
        p.pending = undefined
        pending?.done(p.stderr.trim() || "nft -i exited", true)
      }
      child.stdout.on("data", () => undefined)
      child.stderr.on("data", (b: Buffer) => {
        p.stderr += b.toString("utf8")
        if (p.stderr.length > 1 << 20) p.stderr = p.stderr.slice(-(1 << 16))
        settle(p)
      })
      child.stdin.on("error", () => undefined)
      child.on("error", died)
      child.on("close", died)
      return p
    }

    const stop = (p: Proc) => {
      p.alive = false
      p.child.kill("SIGKILL")
      if (proc === p) proc = undefined
    }

    const viaProcess = (line: string) =>
      Effect.async<{ readonly errors: string | null; readonly exited: boolean }>((resume) => {
        if (proc === undefined || !proc.alive) proc = start()
        const p = proc
        const token = `denia_sync_${++seq}`
        p.pending = { token, done: (errors, exited) => resume(Effect.succeed({ errors, exited })) }
        p.child.stdin.write(`${line}\n${token}\n`)
        return Effect.sync(() => stop(p))
      }).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new NetworkCommandFailed({ step: "nft session", message: `nft -i did not answer within ${Duration.format(timeout)}` })
        })
      )

    const run = (step: string, commands: ReadonlyArray<string>) =>
      lock.withPermits(1)(Effect.gen(function*() {
        if (commands.length === 0) return
        if (commands.some((c) => /[\n\r]/.test(c))) {
          return yield* new NetworkCommandFailed({ step, message: "an nft command must be a single line" })
        }
        if (failures >= MAX_PROCESS_FAILURES) return yield* nftApply(step, `${commands.join("\n")}\n`)
        const r = yield* viaProcess(commands.join("; ")).pipe(
          Effect.tapError(() => Effect.sync(() => failures++))
        )
        if (r.exited) {
          failures++
          if (proc !== undefined && !proc.alive) proc = undefined
          // the line's fate is unknown; the caller re-renders the table from its state
          return yield* new NetworkCommandFailed({ step, message: `nft -i exited: ${r.errors ?? ""}` })
        }
        failures = 0
        if (r.errors !== null) return yield* new NetworkCommandFailed({ step, message: r.errors })
      }))

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (proc !== undefined) stop(proc)
      })
    )
    return { run, pid: Effect.sync(() => (proc?.alive === true ? proc.child.pid : undefined)) } satisfies NftSession
  })
