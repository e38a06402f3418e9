import { Effect, Layer } from "effect"
import { DeniaConfig } from "../config/Config.js"
import { daemonLayer } from "./layers.js"

/** Force the process down if a clean shutdown takes longer than this. */
const SHUTDOWN_DEADLINE_MS = 25_000

const armShutdownWatchdog = Effect.sync(() => {
  const arm = () => {
    setTimeout(() => {
      process.stderr.write("denia: shutdown took longer than 25 s; exiting\n")
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS).unref()
  }
  process.once("SIGTERM", arm)
  process.once("SIGINT", arm)
})

/** `denia` with no subcommand: load config (creating it on first boot) and run until a signal. */
export const runDaemon = Effect.gen(function*() {
  const config = yield* DeniaConfig
  if (config.created) {
    yield* Effect.logInfo(`first boot: wrote ${config.paths.configFile} (mode 0600) with a new admin token`)
  }
  yield* armShutdownWatchdog
  return yield* Layer.launch(daemonLayer(config))
})
