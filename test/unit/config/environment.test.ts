/** The environment readers the CLI uses instead of `process.env`. */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"
import * as path from "node:path"
import { clientEnvironment, processEnvironment } from "../../../src/config/environment.js"
import { resolveClientFile, resolveConfigFile } from "../../../src/config/paths.js"

describe("config/environment", () => {
  it("the client file sits next to the config file: XDG_CONFIG_HOME, else ~/.config", () => {
    expect(resolveClientFile({ XDG_CONFIG_HOME: "/xdg" }, "/home/ann")).toBe(path.join("/xdg", "denia", "client.toml"))
    expect(resolveClientFile({ XDG_CONFIG_HOME: "" }, "/home/ann")).toBe(path.join("/home/ann", ".config", "denia", "client.toml"))
    // DENIA_CONFIG_FILE moves the daemon's file only
    const env = { DENIA_CONFIG_FILE: "/etc/denia.toml" }
    expect(resolveConfigFile(env, "/home/ann")).toBe("/etc/denia.toml")
    expect(resolveClientFile(env, "/home/ann")).toBe(path.join("/home/ann", ".config", "denia", "client.toml"))
  })

  it.effect("DENIA_URL, DENIA_TOKEN and DENIA_PROFILE are read through the ConfigProvider", () =>
    Effect.gen(function*() {
      const provider = ConfigProvider.fromMap(
        new Map([["DENIA_URL", "http://10.0.0.1:7180"], ["DENIA_TOKEN", "t0k"], ["DENIA_PROFILE", "prod"]])
      )
      const read = Effect.all([clientEnvironment.url, clientEnvironment.token, clientEnvironment.profile]).pipe(
        Effect.withConfigProvider(provider)
      )
      const [url, token, profile] = yield* read
      expect(url).toBe("http://10.0.0.1:7180")
      expect(Redacted.value(token)).toBe("t0k")
      expect(profile).toBe("prod")
    }))

  it("processEnvironment is a snapshot, not the live object", () => {
    const snapshot = processEnvironment()
    expect(snapshot.env).not.toBe(process.env)
    expect(snapshot.env["PATH"]).toBe(process.env["PATH"])
  })
})
