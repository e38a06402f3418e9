/**
 * Build of the web console. The app imports the API definition from
 * `src/api/definition/` and schemas from `src/domain/`, both pure (no node:*;
 * `npm run lint` enforces it), so no shims are needed.
 */
import { fileURLToPath } from "node:url"
import { defineConfig } from "vite"
import solid from "vite-plugin-solid"

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))

export default defineConfig({
  root: here("."),
  base: "/",
  plugins: [solid()],
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
