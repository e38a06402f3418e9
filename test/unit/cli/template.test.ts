import { Command } from "@effect/cli"
import { HashMap } from "effect"
import { describe, expect, it } from "vitest"
import { rootCommand } from "../../../src/cli/root.js"
import { configFields, configKeys } from "../../../src/config/schema.js"
import { renderTemplate } from "../../../src/config/template.js"

describe("the first-boot config.toml", () => {
  it("names only commands that exist", () => {
    const values = Object.fromEntries(configKeys.map((k) => [k, configFields[k].default])) as never
    const text = renderTemplate(values)
    const commands = new Set(HashMap.keys(Command.getSubcommands(rootCommand)))
    const mentioned = [...text.matchAll(/\bdenia ([a-z][a-z-]*)/g)].map((m) => m[1])
    expect(mentioned.length).toBeGreaterThan(0)
    for (const name of mentioned) if (name !== undefined) expect(commands, `denia ${name}`).toContain(name)
  })
})
