#!/usr/bin/env node
import { Command } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Exit } from "effect"
import { rootCommand } from "./cli/root.js"
import { VERSION } from "./cli/version.js"

const cli = Command.run(rootCommand, { name: "denia", version: VERSION })

/** Typed failures carrying a one-line message are printed as that line (exit 1). */
const printFailure = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    const e = failure.value as { line?: unknown; message?: unknown; _tag?: unknown }
    if (typeof e.line === "string") return Console.error(e.line)
    if (typeof e.message === "string" && e.message !== "") return Console.error(`denia: ${e.message}`)
    return Effect.void
  }
  return Cause.isInterruptedOnly(cause) ? Effect.void : Console.error(Cause.pretty(cause))
}

cli(process.argv).pipe(
  Effect.tapErrorCause(printFailure),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    // The daemon installs its own logger (log_format); avoid a second, pretty one.
    disablePrettyLogger: true,
    teardown: (exit, onExit) => onExit(Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? 1 : 0)
  })
)
