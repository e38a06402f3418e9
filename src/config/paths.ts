import * as path from "node:path"

/** Where everything lives, derived from `data_dir` and the config file location. */
export interface DeniaPaths {
  readonly configFile: string
  readonly dataDir: string
  readonly sqlite: string
  readonly artifacts: string
  readonly runtime: string
  readonly logs: string
  readonly registry: string
  readonly ociCache: string
  readonly uploads: string
  readonly secrets: string
  readonly tls: string
  readonly ageKeyFile: string
}

export const derivePaths = (configFile: string, dataDir: string, ageKeyFile: string): DeniaPaths => ({
  configFile,
  dataDir,
  sqlite: path.join(dataDir, "denia.sqlite"),
  artifacts: path.join(dataDir, "artifacts"),
  runtime: path.join(dataDir, "runtime"),
  logs: path.join(dataDir, "logs"),
  registry: path.join(dataDir, "registry"),
  ociCache: path.join(dataDir, "oci-cache"),
  uploads: path.join(dataDir, "uploads"),
  secrets: path.join(dataDir, "secrets"),
  tls: path.join(dataDir, "tls"),
  ageKeyFile: ageKeyFile === "" ? path.join(path.dirname(configFile), "age.key") : ageKeyFile
})

/** `$XDG_CONFIG_HOME/denia`, else `~/.config/denia`. */
const configDir = (env: Readonly<Record<string, string | undefined>>, home: string): string => {
  const xdg = env["XDG_CONFIG_HOME"]
  return path.join(xdg !== undefined && xdg !== "" ? xdg : path.join(home, ".config"), "denia")
}

/** Config file: $DENIA_CONFIG_FILE, else $XDG_CONFIG_HOME/denia/config.toml, else ~/.config/denia/config.toml. */
export const resolveConfigFile = (env: Readonly<Record<string, string | undefined>>, home: string): string => {
  const explicit = env["DENIA_CONFIG_FILE"]
  if (explicit !== undefined && explicit !== "") return path.resolve(expandHome(explicit, home))
  return path.join(configDir(env, home), "config.toml")
}

/** CLI profiles: $XDG_CONFIG_HOME/denia/client.toml, else ~/.config/denia/client.toml. */
export const resolveClientFile = (env: Readonly<Record<string, string | undefined>>, home: string): string =>
  path.join(configDir(env, home), "client.toml")

export const expandHome = (p: string, home: string): string => (p === "~" ? home : p.startsWith("~/") ? path.join(home, p.slice(2)) : p)
