/**
 * Bundle budget of the built console (`npm test` builds it first): what the
 * first page load fetches — the entry script, its static imports
 * (modulepreload) and the stylesheets — is at most 200 KiB gzipped, and each
 * page is its own chunk. Also checks that no development build of Solid made
 * it into the production bundle.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { gzipSync } from "node:zlib"
import { beforeAll, describe, expect, it } from "vitest"

const dist = path.resolve(import.meta.dirname, "../../../console/dist")
const BUDGET_BYTES = 200 * 1024

/** Asset paths the HTML loads up front, plus everything those scripts import statically. */
export const initialAssets = (html: string, readAsset: (p: string) => string): ReadonlyArray<string> => {
  const found = new Set<string>()
  for (const m of html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)) {
    if (m[1] !== undefined) found.add(m[1])
  }
  // Follow static `import … from "./x.js"` edges of the JS files (dynamic import() chunks stay out).
  const queue = [...found].filter((p) => p.endsWith(".js"))
  while (queue.length > 0) {
    const p = queue.pop()
    if (p === undefined) break
    const code = readAsset(p)
    for (const m of code.matchAll(/(?:^|[;}\s])import\s*(?:[\w$*{}\s,]+from\s*)?["'](\.\/[^"']+\.js)["']/g)) {
      const dep = path.posix.join(path.posix.dirname(p), m[1] ?? "")
      if (!found.has(dep)) {
        found.add(dep)
        queue.push(dep)
      }
    }
  }
  return [...found]
}

describe("console bundle", () => {
  let html: string
  const read = (p: string) => fs.readFileSync(path.join(dist, p), "utf8")
  beforeAll(() => {
    if (!fs.existsSync(path.join(dist, "index.html"))) {
      throw new Error("console/dist is missing: run `npm run build:console` (npm test builds it first)")
    }
    html = read("index.html")
  })

  it("loads at most 200 KiB gzipped of JS and CSS up front", () => {
    const assets = initialAssets(html, read)
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true)
    expect(assets.some((a) => a.endsWith(".css"))).toBe(true)
    const sizes = assets.map((a) => ({ asset: a, gzip: gzipSync(fs.readFileSync(path.join(dist, a)), { level: 9 }).byteLength }))
    const total = sizes.reduce((n, s) => n + s.gzip, 0)
    console.log(
      `console initial load: ${(total / 1024).toFixed(1)} KiB gzipped (${
        sizes.map((s) => `${s.asset} ${(s.gzip / 1024).toFixed(1)} KiB`).join(", ")
      })`
    )
    expect(total).toBeLessThanOrEqual(BUDGET_BYTES)
  })

  it("splits the pages into their own chunks, outside the initial load", () => {
    const initial = new Set(initialAssets(html, read))
    const chunks = fs.readdirSync(path.join(dist, "assets")).filter((f) => f.endsWith(".js"))
    const lazy = chunks.filter((f) => !initial.has(`/assets/${f}`))
    for (
      const page of [
        "Setup",
        "Login",
        "Projects",
        "ProjectDetail",
        "Services",
        "ServiceCreate",
        "ServiceDetail",
        "ServiceEdit",
        "Settings",
        "Password",
        "Audit",
        "Registry"
      ]
    ) {
      expect(lazy.some((f) => f.startsWith(`${page}-`)), `${page} chunk`).toBe(true)
    }
  })

  it("ships hashed file names and no development build or source maps", () => {
    const files = fs.readdirSync(path.join(dist, "assets"))
    expect(files.every((f) => /-[A-Za-z0-9_-]{8}\.(js|css)$/.test(f)), files.join(", ")).toBe(true)
    const all = files.filter((f) => f.endsWith(".js")).map((f) => read(`assets/${f}`)).join("\n")
    // Messages that exist only in Solid's development build.
    expect(all).not.toContain("computations created outside a `createRoot`")
    expect(all).not.toContain("solid-devtools")
    expect(fs.readdirSync(path.join(dist, "assets")).some((f) => f.endsWith(".map"))).toBe(false)
  })
})
