/**
 * Running the unpack worker from the TypeScript sources (tests under vitest, benches under vite-node;
 * ADR 0808): Node 20 cannot load `.ts`, so the worker starts with a module hook that resolves the
 * sources' `./x.js` imports to `./x.ts` and strips their types with esbuild (which vite brings along).
 * Never used by the daemon, which runs the compiled worker from `dist/`.
 */
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"

const hooksSource = (esbuild: string) => `
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
const esbuild = await import(${JSON.stringify(esbuild)})
const transform = esbuild.transform ?? esbuild.default.transform
export async function resolve(specifier, context, next) {
  const parent = context.parentURL
  if (parent !== undefined && parent.startsWith("file:") && parent.endsWith(".ts") && specifier.endsWith(".js")
    && (specifier.startsWith("./") || specifier.startsWith("../"))) {
    const js = new URL(specifier, parent)
    const ts = new URL(js.href.slice(0, -3) + ".ts")
    if (!existsSync(fileURLToPath(js)) && existsSync(fileURLToPath(ts))) return { url: ts.href, format: "module", shortCircuit: true }
  }
  return next(specifier, context)
}
export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context)
  const file = fileURLToPath(url)
  const out = await transform(readFileSync(file, "utf8"), { loader: "ts", format: "esm", target: "node20", sourcefile: file })
  return { format: "module", source: out.code, shortCircuit: true }
}
`

const dataUrl = (source: string) => `data:text/javascript,${encodeURIComponent(source)}`

/** The `--import` for a worker running `.ts` sources next to `base`; undefined when esbuild is not installed. */
export const sourceWorkerHooks = (base: string): string | undefined => {
  let esbuild: string
  try {
    esbuild = pathToFileURL(createRequire(base).resolve("esbuild")).href
  } catch {
    return undefined
  }
  const hooks = dataUrl(hooksSource(esbuild))
  return dataUrl(`import { register } from "node:module"\nregister(${JSON.stringify(hooks)})\n`)
}
