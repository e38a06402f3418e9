/**
 * Build of the web console. The app imports the API definition from
 * `src/api/` (pure schemas + endpoints); the only Node import on that path is
 * `node:crypto` in the id minting helper, which the console never calls, so it
 * is aliased to a small browser shim.
 */
import { fileURLToPath } from "node:url"
import { defineConfig } from "vite"
import solid from "vite-plugin-solid"

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))

export default defineConfig({
  root: here("."),
  base: "/",
  plugins: [solid()],
  resolve: {
    alias: [{ find: /^node:crypto$/, replacement: here("./src/shims/node-crypto.ts") }]
  },
  build: {
    outDir: here("./dist"),
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1024
  },
  server: {
    // `npm run dev:console` against a running daemon (DENIA_URL, default the stock bind address).
    proxy: {
      "/v1": process.env["DENIA_URL"] ?? "http://127.0.0.1:7180",
      "/healthz": process.env["DENIA_URL"] ?? "http://127.0.0.1:7180"
    }
  }
})
