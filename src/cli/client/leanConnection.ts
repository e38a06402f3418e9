/**
 * The connection of `denia push --no-follow`'s lean path (ADR 0811), without Effect: the same sources
 * in the same order as connection.ts (`--url`/`--token`, `DENIA_URL`/`DENIA_TOKEN`, the profile from
 * `--profile`/`DENIA_PROFILE` or the active one, the local daemon's config file), read with the
 * config's own pure field table (config/schema.ts). It answers only when the answer is certain:
 * anything the full CLI would report as an error (half a pair, an unknown profile, an unreadable
 * or invalid file) gives undefined, and the full CLI then runs and reports it.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import { parse } from "smol-toml"
import { resolveClientFile, resolveConfigFile } from "../../config/paths.js"
import { configFields, type ConfigKey, configKeys, envVar, fieldOf, tomlKey } from "../../config/schema.js"

export interface LeanConnection {
  readonly url: string
  readonly token: string
}

export interface LeanConnectionFlags {
  readonly url: string | undefined
  readonly token: string | undefined
  readonly profile: string | undefined
}

type Env = Readonly<Record<string, string | undefined>>

const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date) ? Object.fromEntries(Object.entries(v)) : undefined

const readToml = (file: string): Record<string, unknown> | undefined | "missing" => {
  let text: string
  try {
    if (!fs.existsSync(file)) return "missing"
    text = fs.readFileSync(file, "utf8")
  } catch {
    return undefined
  }
  try {
    return record(parse(text))
  } catch {
    return undefined
  }
}

/** `client.toml`'s profile `name` (or the active one); null when there is none to use; undefined when unsure. */
const profileOf = (file: string, name: string | undefined): LeanConnection | null | undefined => {
  const table = readToml(file)
  if (table === undefined) return undefined
  if (table === "missing") return name === undefined ? null : undefined
  const known = new Set(["active", "profiles"])
  if (Object.keys(table).some((k) => !known.has(k))) return undefined
  const active = table["active"]
  if (active !== undefined && typeof active !== "string") return undefined
  const profiles = table["profiles"] === undefined ? {} : record(table["profiles"])
  if (profiles === undefined) return undefined
  for (const p of Object.values(profiles)) {
    const entry = record(p)
    if (entry === undefined || typeof entry["url"] !== "string" || typeof entry["token"] !== "string") return undefined
  }
  const key = name ?? active
  const chosen = key === undefined ? undefined : record(profiles[key])
  if (chosen === undefined) return name === undefined ? null : undefined
  return { url: String(chosen["url"]), token: String(chosen["token"]) }
}

/**
 * The local daemon's config values decoded as the daemon decodes them (file, then `DENIA_*`); undefined
 * on any problem. Without a file: "missing" for a connection (the full CLI reports it), the defaults
 * and `DENIA_*` for the ingress hints (config/load.ts decodes an absent file as an empty one).
 */
const localValues = (env: Env, home: string, forConnection: boolean): Map<ConfigKey, unknown> | undefined | "missing" => {
  const read = readToml(resolveConfigFile(env, home))
  if (read === undefined || (read === "missing" && forConnection)) return read
  const table = read === "missing" ? {} : read
  const byToml = new Map<string, ConfigKey>(configKeys.map((k) => [tomlKey(k), k]))
  const raw = new Map<ConfigKey, unknown>()
  for (const [k, v] of Object.entries(table)) {
    const key = byToml.get(k)
    if (key === undefined) return undefined
    raw.set(key, v)
  }
  for (const key of configKeys) {
    const fromEnv = env[envVar(key)]
    if (fromEnv !== undefined && fromEnv !== "") raw.set(key, fieldOf(key).kind.fromEnv(fromEnv))
  }
  const values = new Map<ConfigKey, unknown>(configKeys.map((k) => [k, configFields[k].default]))
  for (const [key, value] of raw) {
    const decoded = fieldOf(key).kind.decode(value)
    if (!decoded.ok) return undefined
    values.set(key, decoded.value)
  }
  const token = values.get("adminToken")
  const bind = values.get("bindAddr")
  if ((forConnection && (typeof token !== "string" || token === "")) || typeof bind !== "string") return undefined
  if (values.get("httpPort") === values.get("httpsPort")) return undefined
  return values
}

/** The local daemon's connection from its config; undefined on any problem. */
const localDaemon = (env: Env, home: string): LeanConnection | undefined => {
  const values = localValues(env, home, true)
  if (values === undefined || values === "missing") return undefined
  return { url: `http://${String(values.get("bindAddr"))}`, token: String(values.get("adminToken")) }
}

/** What the local daemon's config says about its public ingress (connection.ts `IngressHints`). */
export interface LeanIngressHints {
  readonly baseDomain: string
  readonly httpPort: number
  readonly httpsPort: number
}

/**
 * connection.ts's ingress hints for `url`: the local config's base domain and ports when `url` is the
 * daemon that config describes, none when there is no config or it is another daemon; "unsure" when
 * the config cannot be decoded here (the full CLI then decides).
 */
export const leanIngressHints = (
  url: string,
  // eslint-disable-next-line no-restricted-properties -- the one Effect-free reader of the client variables (ADR 0811)
  env: Env = process.env,
  home: string = os.homedir()
): LeanIngressHints | undefined | "unsure" => {
  const values = localValues(env, home, false)
  if (values === undefined || values === "missing") return "unsure"
  if (`http://${String(values.get("bindAddr"))}` !== url) return undefined
  const baseDomain = values.get("baseDomain")
  const httpPort = values.get("httpPort")
  const httpsPort = values.get("httpsPort")
  if (typeof baseDomain !== "string" || typeof httpPort !== "number" || typeof httpsPort !== "number") return "unsure"
  return { baseDomain, httpPort, httpsPort }
}

/**
 * `--url`, `--token` and `--profile` (`--x v` or `--x=v`) among any arguments, others ignored; undefined
 * when one is given twice or lacks its value. Pure; a guess for whatever the full CLI parses differently.
 */
export const connectionFlagsIn = (args: ReadonlyArray<string>): LeanConnectionFlags | undefined => {
  const values = new Map<string, string>()
  for (let i = 0; i < args.length; i++) {
    const m = /^--(url|token|profile)(?:=(.*))?$/s.exec(args[i] ?? "")
    if (m === null) continue
    const name = m[1] ?? ""
    const value = m[2] ?? args[++i]
    if (value === undefined || values.has(name)) return undefined
    values.set(name, value)
  }
  return { url: values.get("url"), token: values.get("token"), profile: values.get("profile") }
}

/** Where the push goes, as connection.ts would resolve it; undefined when the full CLI must decide (or report). */
export const leanConnection = (
  flags: LeanConnectionFlags,
  // config/environment.ts reads the environment through Effect's Config, whose loading is what this path
  // avoids; the same variables, read once here (ADR 0811)
  // eslint-disable-next-line no-restricted-properties -- the one Effect-free reader of the client variables (ADR 0811)
  env: Env = process.env,
  home: string = os.homedir()
): LeanConnection | undefined => {
  const url = flags.url ?? env["DENIA_URL"]
  const token = flags.token ?? env["DENIA_TOKEN"]
  const profileName = flags.profile ?? env["DENIA_PROFILE"]
  // an empty value is a value to the full CLI (and an error there soon after): it decides
  if ([url, token, profileName].includes("")) return undefined
  if (url !== undefined && token !== undefined) return { url: url.replace(/\/+$/, ""), token }
  if (url !== undefined || token !== undefined) return undefined
  const profile = profileOf(resolveClientFile(env, home), profileName)
  if (profile === undefined) return undefined
  if (profile !== null) return profile
  return localDaemon(env, home)
}
