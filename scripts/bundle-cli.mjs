// Bundles the CLI (dist/cli/app.js and what it imports) into dist/bundle/ so
// that a client command loads a handful of files instead of ~1000 modules
// (ADR 0013). Host-tool modules imported with `import()` become their own
// chunks, loaded only by the command that needs them. The output sits two
// levels below the repository root, like every compiled module, so paths
// resolved from `import.meta.url` (package.json, build/native) stay valid.
import * as fs from "node:fs"
import { build } from "esbuild"

// @effect/cli imports parsers for ini, TOML and YAML option files at load time; no Denia command reads
// option files (its own TOML goes through smol-toml), so they are replaced by stubs that say so: every
// invocation would otherwise load and evaluate ~400 kB of parsers (ADR 0810)
const optionFileParsers = {
  name: "cli-option-file-parsers",
  setup(b) {
    b.onResolve({ filter: /^(ini|toml|yaml)$/ }, (args) =>
      /[\\/]@effect[\\/]cli[\\/]/.test(args.importer) ? { path: args.path, namespace: "option-file-stub" } : undefined)
    b.onLoad({ filter: /.*/, namespace: "option-file-stub" }, (args) => ({
      contents: `const unsupported = () => { throw new Error("denia: ${args.path} option files are not supported") }\n` +
        "export const parse = unsupported\nexport const stringify = unsupported\nexport default { parse, stringify }\n",
      loader: "js"
    }))
  }
}

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
  plugins: [optionFileParsers],
  // CommonJS dependencies call require() for Node built-ins
  banner: { js: 'import { createRequire as __deniaCreateRequire } from "node:module"; const require = __deniaCreateRequire(import.meta.url);' },
  logLevel: "warning"
})

// `denia push`'s early start and lean path (src/cli/client/leanPush.ts, ADR 0811): src/main.ts loads it
// before (often instead of) the CLI, so it is one file of its own; what it imports lazily (the in-process
// packer, the schema `--json` decodes with) stays in chunks beside it
await build({
  entryPoints: ["dist/cli/client/leanPush.js"],
  outdir: "dist/bundle/push",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  banner: { js: 'import { createRequire as __deniaCreateRequire } from "node:module"; const require = __deniaCreateRequire(import.meta.url);' },
  logLevel: "warning"
})
