import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { DeniaConfig } from "../config/Config.js"
import { describeConfig } from "../config/load.js"

/** `denia config`: the effective configuration, secrets redacted. */
export const configCommand = Command.make("config", {}, () =>
  Effect.gen(function* () {
    const config = yield* DeniaConfig
    yield* Console.log(describeConfig(config))
  }).pipe(Effect.provide(DeniaConfig.fromProcess(false)))
).pipe(Command.withDescription("Print the effective configuration (secrets redacted)."))
