import * as os from "node:os"
import { Context, Effect, Layer } from "effect"
import type { ConfigError } from "./errors.js"
import { loadConfig, type LoadedConfig } from "./load.js"

/** The effective configuration of this daemon (or CLI invocation). */
export class DeniaConfig extends Context.Tag("denia/DeniaConfig")<DeniaConfig, LoadedConfig>() {
  /** Reads the process environment once, at the edge; nothing else reads `process.env`. */
  static readonly fromProcess = (createIfMissing: boolean): Layer.Layer<DeniaConfig, ConfigError> =>
    Layer.effect(
      DeniaConfig,
      Effect.suspend(() => loadConfig({ env: { ...process.env }, home: os.homedir(), createIfMissing }))
    )

  static readonly fromValue = (loaded: LoadedConfig): Layer.Layer<DeniaConfig> => Layer.succeed(DeniaConfig, loaded)
}
