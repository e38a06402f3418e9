/**
 * The process environment, read at the edge. This folder is the only place
 * that reads `process.env` and the home directory: the daemon through
 * `DeniaConfig.fromProcess`, CLI commands through the readers below (the
 * local daemon's config file, the client variables, the client file path).
 */
import { Config, Effect } from "effect"
import * as os from "node:os"
import type { ConfigError } from "./errors.js"
import { loadConfig, type LoadedConfig, previewFirstStart } from "./load.js"
import { resolveClientFile } from "./paths.js"

export interface ProcessEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly home: string
}

/** A snapshot of the environment variables and the home directory. */
export const processEnvironment = (): ProcessEnvironment => ({ env: { ...process.env }, home: os.homedir() })

/** This host's daemon config as the daemon would load it (`createIfMissing` writes the first-boot template). */
export const loadProcessConfig = (createIfMissing: boolean): Effect.Effect<LoadedConfig, ConfigError> =>
  Effect.suspend(() => loadConfig({ ...processEnvironment(), createIfMissing }))

/** The config the daemon's first start would use, when this environment has no config file yet (nothing is written). */
export const previewProcessFirstStart = (): Effect.Effect<LoadedConfig | undefined, ConfigError> =>
  Effect.suspend(() => previewFirstStart(processEnvironment()))

/**
 * The CLI client's variables, as fallbacks of `--url`, `--token` and
 * `--profile` (read through Effect's ConfigProvider, i.e. the environment).
 */
export const clientEnvironment = {
  url: Config.string("DENIA_URL"),
  token: Config.redacted("DENIA_TOKEN"),
  profile: Config.string("DENIA_PROFILE")
} as const

/** Where the CLI keeps its profiles for this environment. */
export const clientFilePath = (): string => {
  const { env, home } = processEnvironment()
  return resolveClientFile(env, home)
}
