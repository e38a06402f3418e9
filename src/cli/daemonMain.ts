/**
 * The daemon process (`denia`, `denia daemon`): loads the config (writing it
 * on first boot) and runs until a signal. Started by src/main.ts without the
 * CLI's command tree; a failure prints one line and exits 1.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import { DeniaConfig } from "../config/Config.js"
import { runDaemon } from "../daemon/run.js"
import { printFailure } from "./failure.js"

runDaemon.pipe(
  Effect.provide(DeniaConfig.fromProcess(true)),
  Effect.tapErrorCause(printFailure),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    // The daemon installs its own logger (log_format); avoid a second, pretty one.
    disablePrettyLogger: true,
    teardown: (exit, onExit) => onExit(Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? 1 : 0)
  })
)
