import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { parse as parseToml } from "smol-toml"
import { afterEach, describe, expect, it } from "vitest"
import { decodeConfig, describeConfig, loadConfig } from "../../../src/config/load.js"
import { resolveConfigFile } from "../../../src/config/paths.js"
import { configKeys, tomlKey } from "../../../src/config/schema.js"
import { makeTempDir } from "../../support/tempDir.js"

const TOKEN = "b".repeat(64)
const temps: Array<() => void> = []
afterEach(() => temps.splice(0).forEach((c) => c()))

const tempHome = () => {
  const t = makeTempDir()
  temps.push(t.cleanup)
  return t.dir
}

const decodeError = (table: Record<string, unknown>, env: Record<string, string> = {}) => {
  const result = Effect.runSync(Effect.either(decodeConfig(table, env, "config.toml")))
  if (Either.isRight(result)) throw new Error("expected a config error")
  return result.left
}

describe("config file location", () => {
  it("prefers DENIA_CONFIG_FILE, then XDG_CONFIG_HOME, then ~/.config", () => {
    expect(resolveConfigFile({ DENIA_CONFIG_FILE: "/etc/denia.toml", XDG_CONFIG_HOME: "/x" }, "/home/u")).toBe("/etc/denia.toml")
    expect(resolveConfigFile({ XDG_CONFIG_HOME: "/x" }, "/home/u")).toBe("/x/denia/config.toml")
    expect(resolveConfigFile({}, "/home/u")).toBe("/home/u/.config/denia/config.toml")
  })
})

describe("first boot", () => {
  it("writes a complete commented template, mode 0600, with a fresh 64-hex admin token", async () => {
    const home = tempHome()
    const loaded = await Effect.runPromise(loadConfig({ env: {}, home, createIfMissing: true }))
    expect(loaded.created).toBe(true)
    const file = path.join(home, ".config/denia/config.toml")
    expect(loaded.paths.configFile).toBe(file)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    const text = fs.readFileSync(file, "utf8")
    const table = parseToml(text)
    expect(table["admin_token"]).toMatch(/^[0-9a-f]{64}$/)
    expect(loaded.values.adminToken).toBe(table["admin_token"])
    for (const key of configKeys) {
      expect(Object.keys(table)).toContain(tomlKey(key))
      // every key is preceded by an explanatory comment
      const at = text.indexOf(`\n${tomlKey(key)} = `)
      expect(text.slice(0, at).trimEnd().split("\n").at(-1)).toMatch(/^# /)
    }
    // the second boot reads the same file and keeps the token
    const again = await Effect.runPromise(loadConfig({ env: {}, home, createIfMissing: true }))
    expect(again.created).toBe(false)
    expect(again.values.adminToken).toBe(loaded.values.adminToken)
  })

  it("two first boots generate different tokens", async () => {
    const a = await Effect.runPromise(loadConfig({ env: {}, home: tempHome(), createIfMissing: true }))
    const b = await Effect.runPromise(loadConfig({ env: {}, home: tempHome(), createIfMissing: true }))
    expect(a.values.adminToken).not.toBe(b.values.adminToken)
  })

  it("does not write anything when the file is missing and creation is off", async () => {
    const home = tempHome()
    const result = await Effect.runPromise(Effect.either(loadConfig({ env: {}, home, createIfMissing: false })))
    expect(Either.isLeft(result)).toBe(true)
    expect(fs.existsSync(path.join(home, ".config"))).toBe(false)
  })
})

describe("precedence", () => {
  it("default < file < non-empty env", () => {
    const fromDefault = Effect.runSync(decodeConfig({ admin_token: TOKEN }, {}, "f"))
    expect(fromDefault.httpPort).toBe(80)
    expect(fromDefault.networkPoolSize).toBe(2)
    expect(Effect.runSync(decodeConfig({ admin_token: TOKEN, network_pool_size: 0 }, {}, "f")).networkPoolSize).toBe(0)
    const fromFile = Effect.runSync(decodeConfig({ admin_token: TOKEN, http_port: 8080 }, {}, "f"))
    expect(fromFile.httpPort).toBe(8080)
    const fromEnv = Effect.runSync(decodeConfig({ admin_token: TOKEN, http_port: 8080 }, { DENIA_HTTP_PORT: "9090" }, "f"))
    expect(fromEnv.httpPort).toBe(9090)
    const emptyEnv = Effect.runSync(decodeConfig({ admin_token: TOKEN, http_port: 8080 }, { DENIA_HTTP_PORT: "" }, "f"))
    expect(emptyEnv.httpPort).toBe(8080)
  })

  it("env overrides booleans, lists and strings", () => {
    const v = Effect.runSync(
      decodeConfig(
        { admin_token: TOKEN },
        { DENIA_CONTROL_TLS: "true", DENIA_INSECURE_REGISTRIES: "127.0.0.1:5000, reg.lan:443", DENIA_BASE_DOMAIN: "apps.example" },
        "f"
      )
    )
    expect(v.controlTls).toBe(true)
    expect(v.insecureRegistries).toEqual(["127.0.0.1:5000", "reg.lan:443"])
    expect(v.baseDomain).toBe("apps.example")
  })

  it("expands ~ in data_dir and derives every state path from it", async () => {
    const home = tempHome()
    const file = path.join(home, "c.toml")
    fs.writeFileSync(file, `admin_token = "${TOKEN}"\ndata_dir = "~/state"\n`)
    const loaded = await Effect.runPromise(loadConfig({ env: { DENIA_CONFIG_FILE: file }, home, createIfMissing: true }))
    expect(loaded.paths.dataDir).toBe(path.join(home, "state"))
    expect(loaded.paths.sqlite).toBe(path.join(home, "state/denia.sqlite"))
    for (const d of ["artifacts", "runtime", "logs", "registry", "oci-cache", "uploads", "secrets", "tls"]) {
      expect(Object.values(loaded.paths)).toContain(path.join(home, "state", d))
    }
    expect(loaded.paths.ageKeyFile).toBe(path.join(home, "age.key"))
  })
})

describe("errors name the key and the problem", () => {
  it.each([
    [{ admin_token: TOKEN, bogus: 1 }, {}, "bogus", /unknown key/],
    [{ admin_token: TOKEN, http_port: "80" }, {}, "http_port", /must be an integer/],
    [{ admin_token: TOKEN, http_port: 70000 }, {}, "http_port", /between 1 and 65535/],
    [{ admin_token: TOKEN }, { DENIA_HTTPS_PORT: "abc" }, "https_port", /must be an integer.*DENIA_HTTPS_PORT/],
    [{ admin_token: TOKEN, bind_addr: "localhost" }, {}, "bind_addr", /host:port/],
    [{ admin_token: TOKEN, bind_addr: "999.1.1.1:80" }, {}, "bind_addr", /host:port/],
    [{ admin_token: TOKEN, data_dir: "relative/dir" }, {}, "data_dir", /absolute path/],
    [{ admin_token: TOKEN, data_dir: "/a/../b" }, {}, "data_dir", /'\.\.'/],
    [{ admin_token: TOKEN, control_tls: "yes" }, {}, "control_tls", /true or false/],
    [{ admin_token: TOKEN, log_level: "loud" }, {}, "log_level", /one of/],
    [{ admin_token: TOKEN, insecure_registries: "x" }, {}, "insecure_registries", /array of strings/],
    [{ admin_token: TOKEN, tcp_port_range: "3000-20" }, {}, "tcp_port_range", /low-high/],
    [{ admin_token: TOKEN, base_domain: "Bad_Domain" }, {}, "base_domain", /DNS name/],
    [{ admin_token: TOKEN, network_pool_size: 65 }, {}, "network_pool_size", /between 0 and 64/],
    [{ admin_token: TOKEN }, { DENIA_NETWORK_POOL_SIZE: "-1" }, "network_pool_size", /between 0 and 64/],
    [{ admin_token: "short" }, {}, "admin_token", /64 lower-case hex/],
    [{}, {}, "admin_token", /required/],
    [{ admin_token: TOKEN, http_port: 8080, https_port: 8080 }, {}, "https_port", /differ/]
  ])("%j %j → %s", (table, env, key, problem) => {
    const e = decodeError(table, env as Record<string, string>)
    expect(e.key).toBe(key)
    expect(e.line).toMatch(problem)
    expect(e.line.split("\n")).toHaveLength(1)
  })

  it("invalid TOML names the file", async () => {
    const home = tempHome()
    const file = path.join(home, "c.toml")
    fs.writeFileSync(file, "admin_token = \n")
    const result = await Effect.runPromise(Effect.either(loadConfig({ env: { DENIA_CONFIG_FILE: file }, home, createIfMissing: true })))
    expect(Either.isLeft(result) && result.left.line).toMatch(/c\.toml is not valid TOML/)
  })
})

describe("denia config output", () => {
  it("redacts the admin token", async () => {
    const home = tempHome()
    const loaded = await Effect.runPromise(loadConfig({ env: {}, home, createIfMissing: true }))
    const text = describeConfig(loaded)
    expect(text).not.toContain(loaded.values.adminToken)
    expect(text).toContain("admin_token = \"<redacted>\"")
    expect(text).toContain("bind_addr = \"127.0.0.1:7180\"")
  })
})
