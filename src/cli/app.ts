/**
 * The CLI (every invocation except the daemon itself): parse with
 * @effect/cli, print help as tidy plain text, failures as one line, exit 1 on
 * failure. The build bundles this module and what it imports statically into
 * dist/bundle/ (see scripts/bundle-cli.mjs and ADR 0013).
 */
import * as Command from "@effect/cli/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import { printFailure } from "./failure.js"
import { withCliConsole } from "./help.js"
import { rootCommand } from "./root.js"
import { VERSION } from "./version.js"

const cli = Command.run(rootCommand, { name: "denia", version: VERSION })

export const runCli = (argv: ReadonlyArray<string>): void =>
  cli(argv).pipe(
    Effect.tapErrorCause(printFailure),
    withCliConsole,
    Effect.provide(NodeContext.layer),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      disablePrettyLogger: true,
      teardown: (exit, onExit) => onExit(Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? 1 : 0)
    })
  )

runCli(process.argv)
