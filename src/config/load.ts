/**
 * Loading the configuration: resolve the file, write the first-boot template
 * when it is missing, parse TOML, apply `DENIA_*` overrides, validate every
 * key, derive paths. Pure apart from the file system calls at the edges.
 */
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { parse as parseToml } from "smol-toml"
import { ConfigError } from "./errors.js"
import { type DeniaPaths, derivePaths, expandHome, resolveConfigFile } from "./paths.js"
import { configFields, type ConfigKey, configKeys, type ConfigValues, envVar, fieldOf, tomlKey } from "./schema.js"
import { renderTemplate } from "./template.js"

export interface LoadedConfig {
  readonly values: ConfigValues
  readonly paths: DeniaPaths
  /** True when this load wrote a fresh config file. */
  readonly created: boolean
}

export interface LoadOptions {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly home: string
  /** Write the first-boot template when the file is missing (daemon, setup). */
  readonly createIfMissing: boolean
}

const byTomlKey = new Map<string, ConfigKey>(configKeys.map((k) => [tomlKey(k), k]))

const defaults = (): ConfigValues => Object.fromEntries(configKeys.map((k) => [k, configFields[k].default])) as unknown as ConfigValues

const readFile = (file: string) =>
  Effect.try({
    try: () => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined),
    catch: (e) => new ConfigError({ message: `cannot read ${file}: ${(e as Error).message}`, cause: e })
  })

const writeTemplate = (file: string) =>
  Effect.try({
    try: () => {
      const values = { ...defaults(), adminToken: randomBytes(32).toString("hex") }
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
      const text = renderTemplate(values)
      // `wx`: never overwrite a file that appeared in the meantime.
      fs.writeFileSync(file, text, { mode: 0o600, flag: "wx" })
      return text
    },
    catch: (e) => new ConfigError({ message: `cannot create ${file}: ${(e as Error).message}`, cause: e })
  })

const parseFile = (file: string, text: string) =>
  Effect.try({
    try: (): Record<string, unknown> => parseToml(text),
    catch: (e) => new ConfigError({ message: `${file} is not valid TOML: ${(e as Error).message.split("\n")[0]}`, cause: e })
  })

/** Validate a raw table (from TOML) plus env overrides into typed values. */
export const decodeConfig = (
  table: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  source: string
): Effect.Effect<ConfigValues, ConfigError> =>
  Effect.gen(function*() {
    const raw: Record<string, { value: unknown; origin: string }> = {}
    for (const [k, v] of Object.entries(table)) {
      const key = byTomlKey.get(k)
      if (key === undefined) {
        return yield* new ConfigError({ key: k, message: `unknown key in ${source}` })
      }
      raw[key] = { value: v, origin: source }
    }
    for (const key of configKeys) {
      const fromEnv = env[envVar(key)]
      if (fromEnv !== undefined && fromEnv !== "") {
        raw[key] = { value: fieldOf(key).kind.fromEnv(fromEnv), origin: envVar(key) }
      }
    }
    const out: Record<string, unknown> = { ...defaults() }
    for (const key of configKeys) {
      const entry = raw[key]
      if (entry === undefined) continue
      const decoded = fieldOf(key).kind.decode(entry.value)
      if (!decoded.ok) {
        return yield* new ConfigError({ key: tomlKey(key), message: `${decoded.problem} (from ${entry.origin})` })
      }
      out[key] = decoded.value
    }
    const values = out as unknown as ConfigValues
    if (values.adminToken === "") {
      return yield* new ConfigError({ key: "admin_token", message: `is required (set it in ${source} or ${envVar("adminToken")})` })
    }
    if (values.httpPort === values.httpsPort) {
      return yield* new ConfigError({ key: "https_port", message: "must differ from http_port" })
    }
    return values
  })

export const loadConfig = (options: LoadOptions): Effect.Effect<LoadedConfig, ConfigError> =>
  Effect.gen(function*() {
    const file = resolveConfigFile(options.env, options.home)
    let text = yield* readFile(file)
    let created = false
    if (text === undefined) {
      if (!options.createIfMissing) {
        text = ""
      } else {
        text = yield* writeTemplate(file)
        created = true
      }
    }
    const table = yield* parseFile(file, text)
    const values = yield* decodeConfig(table, options.env, file)
    return withPaths(file, values, options.home, created)
  })

const withPaths = (file: string, values: ConfigValues, home: string, created: boolean): LoadedConfig => {
  const dataDir = path.resolve(expandHome(values.dataDir, home))
  const ageKeyFile = values.ageKeyFile === "" ? "" : path.resolve(expandHome(values.ageKeyFile, home))
  return { values: { ...values, dataDir }, paths: derivePaths(file, dataDir, ageKeyFile), created }
}

/**
 * Before the first start (no config file yet): the config the daemon's first start would use — the
 * defaults and the environment — without writing anything. Its admin token, unless the environment
 * sets one, is a random one that exists only in the returned value. `undefined` when the file exists.
 */
export const previewFirstStart = (options: Omit<LoadOptions, "createIfMissing">): Effect.Effect<LoadedConfig | undefined, ConfigError> =>
  Effect.gen(function*() {
    const file = resolveConfigFile(options.env, options.home)
    if ((yield* readFile(file)) !== undefined) return undefined
    const tokenVar = envVar("adminToken")
    const env = options.env[tokenVar] ? options.env : { ...options.env, [tokenVar]: randomBytes(32).toString("hex") }
    return withPaths(file, yield* decodeConfig({}, env, file), options.home, false)
  })

/** The effective config as TOML-ish lines with secrets redacted (for `denia config`). */
export const describeConfig = (loaded: LoadedConfig): string =>
  [
    `# config file: ${loaded.paths.configFile}`,
    ...configKeys.map((k) => {
      const field = fieldOf(k)
      const shown = field.secret === true ? "\"<redacted>\"" : field.kind.render(loaded.values[k])
      return `${tomlKey(k)} = ${shown}`
    })
  ].join("\n")
