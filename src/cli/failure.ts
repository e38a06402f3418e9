import { Cause, Effect } from "effect"
import { printErr } from "./terminal.js"

/**
 * How a failed command ends: typed failures with a one-line `line` or
 * `message` print that line (escaped on a terminal: it may quote the
 * server); defects print the cause. Exit code 1 either way (see the runMain teardown).
 */
export const printFailure = (cause: Cause.Cause<unknown>) =>
  Effect.sync(() => {
    const failure = Cause.failureOption(cause)
    if (failure._tag === "Some") {
      const e = failure.value as { line?: unknown; message?: unknown }
      if (typeof e.line === "string") printErr(e.line)
      else if (typeof e.message === "string" && e.message !== "") printErr(`denia: ${e.message}`, { multiline: false })
      return
    }
    if (!Cause.isInterruptedOnly(cause)) printErr(Cause.pretty(cause))
  })
