/**
 * What every CLI invocation loads (ADR 0013, 0810): the bundle's entry and the chunks it imports
 * statically. The HTTP/1 client library of the volume archive transfers (undici), the push packer and
 * the host tools are chunks of their own, imported only by the commands that use them; @effect/cli's
 * option-file parsers are not bundled at all. Reads the build output (`npm run build` writes dist/bundle/).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const bundleDir = path.resolve("dist/bundle")

/** The files `entry` loads before it runs: itself and its static imports, transitively. */
const staticGraph = (entry: string): Set<string> => {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const text = fs.readFileSync(file, "utf8")
    // static imports only: `import … from "./chunk.js"` and `import "./chunk.js"`; `import("./x.js")` is lazy
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s*"(\.\/[^"]+)"|^\s*import\s*"(\.\/[^"]+)"/gm)) {
      visit(path.join(path.dirname(file), m[1] ?? m[2] ?? ""))
    }
  }
  visit(entry)
  return seen
}

describe("the CLI bundle", () => {
  it("loads neither undici nor the push packer nor a host tool until a command needs it", () => {
    const graph = staticGraph(path.join(bundleDir, "app.js"))
    expect(graph.size).toBeGreaterThan(1)
    for (const file of graph) {
      const text = fs.readFileSync(file, "utf8")
      expect(text.includes("node_modules/undici/index.js"), `${path.basename(file)} bundles undici`).toBe(false)
      expect(text.includes("dist/cli/client/pack.js"), `${path.basename(file)} bundles the packer`).toBe(false)
      expect(text.includes("dist/cli/doctor/checks.js"), `${path.basename(file)} bundles doctor`).toBe(false)
    }
  })

  it("carries stubs for @effect/cli's option-file parsers (no command reads option files)", () => {
    for (const file of fs.readdirSync(bundleDir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js"))) {
      const text = fs.readFileSync(path.join(bundleDir, file), "utf8")
      expect(text.includes("node_modules/toml/lib/parser.js"), `${file} bundles the TOML option-file parser`).toBe(false)
      expect(text.includes("node_modules/ini/lib/ini.js"), `${file} bundles the ini option-file parser`).toBe(false)
    }
  })

  it("the lean push (ADR 0811) loads no Effect, no @effect/cli and no CLI chunk before it runs", () => {
    const entry = path.join(bundleDir, "push", "leanPush.js")
    const graph = staticGraph(entry)
    // the entry and at most esbuild's runtime helpers, shared with its lazy chunks
    expect(graph.size).toBeLessThanOrEqual(2)
    let size = 0
    for (const file of graph) {
      expect(path.dirname(file)).toBe(path.dirname(entry))
      const text = fs.readFileSync(file, "utf8")
      size += text.length
      for (const dependency of ["node_modules/effect/", "node_modules/@effect/", "dist/cli/app.js"]) {
        expect(text.includes(dependency), `${path.basename(file)} bundles ${dependency}`).toBe(false)
      }
    }
    expect(size).toBeLessThan(256 * 1024)
    // what it does bundle: the packer and the connection's config table
    const text = fs.readFileSync(entry, "utf8")
    expect(text.includes("dist/cli/client/pack.js")).toBe(true)
    expect(text.includes("dist/config/schema.js")).toBe(true)
  })
})
