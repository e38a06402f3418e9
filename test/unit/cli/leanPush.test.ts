/**
 * The lean `denia push --no-follow` (ADR 0811): it takes only what it is sure of — the flags it knows,
 * a connection from exactly the sources connection.ts reads, in its order — and declines everything
 * else (undefined), so that the full CLI runs and reports it. Its name and id patterns are the domain's.
 */
import { Effect, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { resolveConnection } from "../../../src/cli/client/connection.js"
import { leanConnection, leanIngressHints } from "../../../src/cli/client/leanConnection.js"
import { LEAN_NAME_PATTERN, LEAN_UUID_PATTERN, parseLeanPushArgs } from "../../../src/cli/client/leanPush.js"
import { UUID_PATTERN } from "../../../src/domain/ids.js"
import { NAME_PATTERN } from "../../../src/domain/names.js"

const TOKEN = "b".repeat(64)

describe("the lean push's flags", () => {
  const plain = { json: false, follow: true, create: false, url: undefined, token: undefined, profile: undefined }

  it("takes push with --no-follow, --json, --create and the connection flags, in either form", () => {
    expect(parseLeanPushArgs(["push"])).toEqual(plain)
    expect(parseLeanPushArgs(["push", "--create"])).toEqual({ ...plain, create: true })
    expect(parseLeanPushArgs(["push", "--no-follow"])).toEqual({ ...plain, follow: false })
    expect(parseLeanPushArgs(["push", "--json", "--no-follow", "--create", "--url", "http://h:1", "--token=t", "--profile", "p"]))
      .toEqual({ json: true, follow: false, create: true, url: "http://h:1", token: "t", profile: "p" })
  })

  it("declines anything else: --json while following, another command, an unknown or repeated flag, a missing value", () => {
    for (
      const args of [
        ["push", "--json"],
        ["push", "--create", "--json"],
        ["deploy", "--no-follow"],
        ["push", "--no-follow", "--verbose"],
        ["push", "--no-follow", "--no-follow"],
        ["push", "--create", "--create"],
        ["push", "--no-follow", "--url"],
        ["push", "--no-follow", "--url", "--json"],
        ["push", "--no-follow", "--url", "a", "--url", "b"],
        ["push", "--no-follow", "extra"],
        ["push", "--no-follow", "--json=true"]
      ]
    ) {
      expect(parseLeanPushArgs(args), args.join(" ")).toBeUndefined()
    }
  })

  it("checks names and ids with the domain's own patterns", () => {
    expect(LEAN_NAME_PATTERN.source).toBe(NAME_PATTERN.source)
    expect(LEAN_NAME_PATTERN.flags).toBe(NAME_PATTERN.flags)
    expect(LEAN_UUID_PATTERN.source).toBe(UUID_PATTERN.source)
    expect(LEAN_UUID_PATTERN.flags).toBe(UUID_PATTERN.flags)
  })
})

describe("the lean push's connection", () => {
  let home: string
  const none = { url: undefined, token: undefined, profile: undefined }
  const configFile = () => path.join(home, ".config", "denia", "config.toml")
  const clientFile = () => path.join(home, ".config", "denia", "client.toml")
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, text)
  }
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "denia-lean-"))
  })
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }))

  it("flags first, then DENIA_URL / DENIA_TOKEN, each falling back on its own; the URL loses trailing slashes", () => {
    expect(leanConnection({ ...none, url: "http://a:1//", token: "t" }, {}, home)).toEqual({ url: "http://a:1", token: "t" })
    expect(leanConnection({ ...none, url: "http://a:1" }, { DENIA_TOKEN: "e", DENIA_URL: "http://b:2" }, home))
      .toEqual({ url: "http://a:1", token: "e" })
    expect(leanConnection(none, { DENIA_TOKEN: "e", DENIA_URL: "http://b:2" }, home)).toEqual({ url: "http://b:2", token: "e" })
  })

  it("declines half a pair and empty values (the full CLI reports those)", () => {
    expect(leanConnection({ ...none, url: "http://a:1" }, {}, home)).toBeUndefined()
    expect(leanConnection(none, { DENIA_TOKEN: "e" }, home)).toBeUndefined()
    expect(leanConnection(none, { DENIA_URL: "" }, home)).toBeUndefined()
  })

  it("then the named or active profile; a named profile that does not exist is the full CLI's error", () => {
    write(
      clientFile(),
      `active = "one"\n[profiles.one]\nurl = "https://one.example"\ntoken = "t1"\n[profiles.two]\nurl = "http://two:7180"\ntoken = "t2"\n`
    )
    expect(leanConnection(none, {}, home)).toEqual({ url: "https://one.example", token: "t1" })
    expect(leanConnection({ ...none, profile: "two" }, {}, home)).toEqual({ url: "http://two:7180", token: "t2" })
    expect(leanConnection(none, { DENIA_PROFILE: "two" }, home)).toEqual({ url: "http://two:7180", token: "t2" })
    expect(leanConnection({ ...none, profile: "three" }, {}, home)).toBeUndefined()
    write(clientFile(), "this is not toml =\n")
    expect(leanConnection(none, {}, home)).toBeUndefined()
  })

  it("then the local daemon's config file, decoded as the daemon does (DENIA_* overrides it); anything invalid declines", () => {
    write(configFile(), `admin_token = "${TOKEN}"\nbind_addr = "127.0.0.1:7999"\n`)
    expect(leanConnection(none, {}, home)).toEqual({ url: "http://127.0.0.1:7999", token: TOKEN })
    expect(leanConnection(none, { DENIA_BIND_ADDR: "127.0.0.1:8111" }, home)).toEqual({ url: "http://127.0.0.1:8111", token: TOKEN })
    const other = path.join(home, "elsewhere.toml")
    write(other, `admin_token = "${TOKEN}"\n`)
    expect(leanConnection(none, { DENIA_CONFIG_FILE: other }, home)).toEqual({ url: "http://127.0.0.1:7180", token: TOKEN })
    for (
      const text of [
        `admin_token = "short"\n`,
        `admin_token = "${TOKEN}"\nno_such_key = 1\n`,
        `admin_token = "${TOKEN}"\nhttp_port = 8000\nhttps_port = 8000\n`,
        `bind_addr = "127.0.0.1:7999"\n`,
        "not toml ="
      ]
    ) {
      write(configFile(), text)
      expect(leanConnection(none, {}, home), text).toBeUndefined()
    }
    fs.rmSync(configFile())
    expect(leanConnection(none, {}, home)).toBeUndefined()
  })

  it("gives the local config's ingress hints for its own daemon only; an undecodable config is unsure", () => {
    write(configFile(), `admin_token = "${TOKEN}"\nbind_addr = "127.0.0.1:7999"\nbase_domain = "apps.test"\nhttp_port = 8081\n`)
    expect(leanIngressHints("http://127.0.0.1:7999", {}, home)).toEqual({ baseDomain: "apps.test", httpPort: 8081, httpsPort: 443 })
    expect(leanIngressHints("https://elsewhere.example", {}, home)).toBeUndefined()
    expect(leanIngressHints("http://127.0.0.1:7999", { DENIA_BASE_DOMAIN: "other.test" }, home)).toMatchObject({ baseDomain: "other.test" })
    write(configFile(), "not toml =")
    expect(leanIngressHints("http://127.0.0.1:7999", {}, home)).toBe("unsure")
    fs.rmSync(configFile())
    // no file: the defaults (config/load.ts reads an absent file as an empty one)
    expect(leanIngressHints("http://127.0.0.1:7180", {}, home)).toMatchObject({ baseDomain: "localhost" })
  })

  it("agrees with connection.ts wherever it answers (profile file, local config)", async () => {
    const saved = { XDG_CONFIG_HOME: process.env["XDG_CONFIG_HOME"], DENIA_CONFIG_FILE: process.env["DENIA_CONFIG_FILE"] }
    process.env["XDG_CONFIG_HOME"] = path.join(home, ".config")
    delete process.env["DENIA_CONFIG_FILE"]
    try {
      const full = async () => {
        const c = await Effect.runPromise(resolveConnection({ url: Option.none(), token: Option.none(), profile: Option.none() }))
        return { url: c.url, token: Redacted.value(c.token) }
      }
      write(configFile(), `admin_token = "${TOKEN}"\nbind_addr = "127.0.0.1:7999"\n`)
      expect(leanConnection(none, process.env, home)).toEqual(await full())
      write(clientFile(), `active = "one"\n[profiles.one]\nurl = "https://one.example/"\ntoken = "t1"\n`)
      expect(leanConnection(none, process.env, home)).toEqual(await full())
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })
})
