import { Context, Layer } from "effect"
import { loadProcessConfig } from "./environment.js"
import type { ConfigError } from "./errors.js"
import type { LoadedConfig } from "./load.js"

/** The effective configuration of this daemon (or CLI invocation). */
export class DeniaConfig extends Context.Tag("denia/config/DeniaConfig")<DeniaConfig, LoadedConfig>() {
  /** Reads the process environment once, at the edge (config/environment.ts). */
  static readonly fromProcess = (createIfMissing: boolean): Layer.Layer<DeniaConfig, ConfigError> =>
    Layer.effect(DeniaConfig, loadProcessConfig(createIfMissing))

  /** An already-loaded configuration (the daemon loads it once and passes it on; tests build one). */
  static readonly layer = (loaded: LoadedConfig): Layer.Layer<DeniaConfig> => Layer.succeed(DeniaConfig, loaded)
}
