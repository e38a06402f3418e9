// Bundles the CLI (dist/cli/app.js and what it imports) into dist/bundle/ so
// that a client command loads a handful of files instead of ~1000 modules
// (ADR 0013). Host-tool modules imported with `import()` become their own
// chunks, loaded only by the command that needs them. The output sits two
// levels below the repository root, like every compiled module, so paths
// resolved from `import.meta.url` (package.json, build/native) stay valid.
import * as fs from "node:fs"
import { build } from "esbuild"

fs.rmSync("dist/bundle", { recursive: true, force: true })
await build({
  entryPoints: ["dist/cli/app.js"],
  outdir: "dist/bundle",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // native addon: never bundled (the CLI does not load it)
  external: ["better-sqlite3"],
  // CommonJS dependencies call require() for Node built-ins
  banner: { js: 'import { createRequire as __deniaCreateRequire } from "node:module"; const require = __deniaCreateRequire(import.meta.url);' },
  logLevel: "warning"
})
