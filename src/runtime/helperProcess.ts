/** Spawning `denia-init launch` and reading its status pipe (fd 3).
 *
 * Protocol: one line per event — `ready`, `exited <code>`,
 * `exited signal <n>`, `failed <stage>: <text>`. Lines are the only
 * contract between the helper and this file. */
import { type ChildProcess, spawn } from "node:child_process"
import { Readable } from "node:stream"
import { SIGNALS } from "./signals.js"
import type { ExitStatus } from "./types.js"

export type StatusEvent =
  | { readonly _tag: "ready" }
  | { readonly _tag: "exited"; readonly status: ExitStatus }
  | { readonly _tag: "failed"; readonly stage: string; readonly message: string }
  | { readonly _tag: "unknown"; readonly line: string }

export const parseStatusLine = (line: string): StatusEvent => {
  if (line === "ready") return { _tag: "ready" }
  let m = /^exited signal (\d+)$/.exec(line)
  if (m?.[1] !== undefined) return { _tag: "exited", status: { code: null, signal: Number(m[1]) } }
  m = /^exited (\d+)$/.exec(line)
  if (m?.[1] !== undefined) return { _tag: "exited", status: { code: Number(m[1]), signal: null } }
  m = /^failed ([^:]+): (.*)$/.exec(line)
  if (m?.[1] !== undefined && m[2] !== undefined) return { _tag: "failed", stage: m[1], message: m[2] }
  return { _tag: "unknown", line }
}

export interface HelperHandle {
  readonly child: ChildProcess
  readonly pid: number
  /** Resolves with the first terminal-or-ready event (ready, failed, exited). */
  readonly firstEvent: Promise<StatusEvent>
  /** Resolves when the workload is over (exit line or helper exit). */
  readonly exited: Promise<ExitStatus & { readonly failure?: { stage: string; message: string } }>
  readonly stdout: Readable | null
  readonly stderr: Readable | null
  /** True once the launcher process has ended (its pid may be reused after). */
  readonly hasExited: () => boolean
}

/** Spawn the launcher with `spec` on stdin. Throws synchronously only for
 * programming errors; spawn failures surface as a `failed helper` event. */
export const spawnHelper = (helperPath: string, spec: unknown): HelperHandle => {
  const child = spawn(helperPath, ["launch"], {
    stdio: ["pipe", "pipe", "pipe", "pipe"],
    detached: true,
    env: {}
  })
  const fd3 = child.stdio[3]
  const status = fd3 instanceof Readable ? fd3 : null
  let resolveFirst: (e: StatusEvent) => void = () => {}
  const firstEvent = new Promise<StatusEvent>((r) => (resolveFirst = r))
  let lastExit: ExitStatus | null = null
  let failure: { stage: string; message: string } | undefined
  let buf = ""
  let ended = false
  const onLine = (line: string) => {
    const ev = parseStatusLine(line)
    if (ev._tag === "exited") lastExit = ev.status
    if (ev._tag === "failed") failure = { stage: ev.stage, message: ev.message }
    if (ev._tag !== "unknown") resolveFirst(ev)
  }
  status?.on("data", (chunk: Buffer) => {
    buf += chunk.toString("utf8")
    let nl = buf.indexOf("\n")
    while (nl >= 0) {
      onLine(buf.slice(0, nl))
      buf = buf.slice(nl + 1)
      nl = buf.indexOf("\n")
    }
  })
  status?.on("error", () => {})
  const exited = new Promise<ExitStatus & { failure?: { stage: string; message: string } }>((resolve) => {
    child.on("error", (err) => {
      failure = { stage: "helper", message: err.message }
      resolveFirst({ _tag: "failed", stage: "helper", message: err.message })
      resolve({ code: null, signal: null, failure })
    })
    child.on("exit", () => {
      ended = true
    })
    child.on("close", (code, signal) => {
      ended = true
      if (buf !== "") onLine(buf)
      const st: ExitStatus = lastExit ??
        (signal !== null ? { code: null, signal: SIGNALS[signal.replace(/^SIG/, "")] ?? 0 } : { code: code ?? null, signal: null })
      if (failure === undefined && lastExit === null) {
        resolveFirst({ _tag: "failed", stage: "helper", message: `helper ended without a status (${signal ?? code})` })
      }
      resolve(failure !== undefined ? { ...st, failure } : st)
    })
  })
  child.stdin?.on("error", () => {})
  child.stdin?.end(JSON.stringify(spec))
  return {
    child,
    pid: child.pid ?? -1,
    firstEvent,
    exited,
    stdout: child.stdout,
    stderr: child.stderr,
    hasExited: () => ended
  }
}
