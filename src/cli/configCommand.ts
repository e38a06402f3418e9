import { Effect } from "effect"
import { DeniaConfig } from "../config/Config.js"
import { describeConfig } from "../config/load.js"
import { configKeys, fieldOf, tomlKey } from "../config/schema.js"
import { printJson, printText } from "./client/output.js"

/** `denia config`: the effective configuration, secrets redacted (loaded lazily by root.ts). */
export const runConfig = (json: boolean) =>
  Effect.gen(function*() {
    const config = yield* DeniaConfig
    if (!json) return yield* printText(describeConfig(config))
    const values = Object.fromEntries(configKeys.map((k) => [tomlKey(k), fieldOf(k).secret === true ? "<redacted>" : config.values[k]]))
    return yield* printJson({ configFile: config.paths.configFile, values })
  }).pipe(Effect.provide(DeniaConfig.fromProcess(false)))
