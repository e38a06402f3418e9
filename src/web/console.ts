/**
 * Serves the built web console (`console/dist`) on the API origin:
 *
 * - `/assets/*`: hashed build output, `Cache-Control: immutable` for a year;
 *   a missing asset is a plain 404 (never the app shell, which would be
 *   parsed as script).
 * - other GET/HEAD paths outside `/v1`, `/v2`, `/healthz`, `/metrics` and
 *   `/.well-known`: files at the top of the build (favicon and the like) when
 *   they exist, a 404 for anything that looks like a file, else the app shell
 *   (`index.html`, `no-cache`) so client-side routes survive a reload.
 * - unknown paths under those prefixes fall through to the API's JSON 404.
 *
 * Text assets are gzipped once and kept in memory when the client accepts it.
 */
import { HttpApiBuilder, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, type Layer } from "effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"

export interface WebConsoleOptions {
  /** The console build directory (holds index.html and assets/). */
  readonly root: string
}

/** `console/dist` next to `src/` or `dist/` (this file is `<pkg>/{src,dist}/web/console.{ts,js}`). */
export const defaultConsoleRoot = (): string => fileURLToPath(new URL("../../console/dist", import.meta.url))

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".txt": "text/plain; charset=utf-8"
}
const COMPRESSIBLE = new Set([".js", ".mjs", ".css", ".html", ".json", ".webmanifest", ".map", ".svg", ".txt"])
const IMMUTABLE = "public, max-age=31536000, immutable"

const RESERVED = ["/v1", "/v2", "/healthz", "/metrics", "/.well-known"]

/** Paths the API, the registry and the daemon's own endpoints own; the console never answers them. */
export const isApiPath = (p: string): boolean => RESERVED.some((r) => p === r || p.startsWith(`${r}/`))

/** The last segment has an extension: a request for a file, not a client-side route. */
export const looksLikeFile = (p: string): boolean => /\.[A-Za-z0-9]{1,12}$/.test(p.slice(p.lastIndexOf("/") + 1))

/** Resolves a URL path under `root`, or undefined when it would escape it. */
export const resolveUnder = (root: string, urlPath: string): string | undefined => {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return undefined
  }
  if (decoded.includes("\0")) return undefined
  const full = path.resolve(root, `.${path.posix.normalize(`/${decoded}`)}`)
  return full === root || full.startsWith(`${root}${path.sep}`) ? full : undefined
}

/** `sha256-…` CSP sources for the inline scripts of the shell (the theme bootstrap). */
export const inlineScriptHashes = (html: string): ReadonlyArray<string> =>
  [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map(
    (m) => `'sha256-${createHash("sha256").update(m[1] ?? "").digest("base64")}'`
  )

/** The console uses none of these browser features; deny them to the page and anything it could embed. */
const PERMISSIONS_POLICY = [
  "accelerometer",
  "camera",
  "display-capture",
  "geolocation",
  "gyroscope",
  "hid",
  "magnetometer",
  "microphone",
  "midi",
  "payment",
  "serial",
  "usb",
  "xr-spatial-tracking"
]
  .map((f) => `${f}=()`)
  .join(", ")

const shellHeaders = (html: string): Record<string, string> => ({
  "cache-control": "no-cache",
  "content-security-policy": [
    "default-src 'self'",
    `script-src 'self' ${inlineScriptHashes(html).join(" ")}`.trim(),
    // the build has no inline styles (Vite emits one stylesheet; no `style=` in the app), so no 'unsafe-inline'
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'"
  ].join("; "),
  "permissions-policy": PERMISSIONS_POLICY,
  "cross-origin-opener-policy": "same-origin",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY"
})

const notFoundText = (message: string) =>
  HttpServerResponse.text(message, { status: 404, headers: { "cache-control": "no-store", "x-content-type-options": "nosniff" } })

const readIfFile = (file: string) =>
  Effect.tryPromise(() => readFile(file)).pipe(
    Effect.map((b): Uint8Array | undefined => b),
    Effect.catchAll(() => Effect.succeed<Uint8Array | undefined>(undefined))
  )

const acceptsGzip = (request: HttpServerRequest.HttpServerRequest): boolean => /\bgzip\b/.test(request.headers["accept-encoding"] ?? "")

export const makeConsoleHandler = (options: WebConsoleOptions) => {
  const root = path.resolve(options.root)
  const gzipCache = new Map<string, Uint8Array>()

  const fileResponse = (file: string, body: Uint8Array, cacheControl: string, request: HttpServerRequest.HttpServerRequest) => {
    const ext = path.extname(file).toLowerCase()
    const contentType = CONTENT_TYPES[ext] ?? "application/octet-stream"
    const headers: Record<string, string> = {
      "cache-control": cacheControl,
      "x-content-type-options": "nosniff",
      "cross-origin-resource-policy": "same-origin",
      vary: "accept-encoding"
    }
    if (COMPRESSIBLE.has(ext) && body.byteLength > 512 && acceptsGzip(request)) {
      let gz = gzipCache.get(file)
      if (gz === undefined) {
        gz = gzipSync(body)
        // Only immutable assets are worth keeping; their content never changes under the same name.
        if (cacheControl === IMMUTABLE) gzipCache.set(file, gz)
      }
      return HttpServerResponse.uint8Array(gz, { contentType, headers: { ...headers, "content-encoding": "gzip" } })
    }
    return HttpServerResponse.uint8Array(body, { contentType, headers })
  }

  const shell = (request: HttpServerRequest.HttpServerRequest) =>
    readIfFile(path.join(root, "index.html")).pipe(
      Effect.map((body) => {
        if (body === undefined) {
          return HttpServerResponse.text("The web console is not built. Run `npm run build:console` and reload.", {
            status: 503,
            headers: { "cache-control": "no-store" }
          })
        }
        const html = new TextDecoder().decode(body)
        const response = fileResponse(path.join(root, "index.html"), body, "no-cache", request)
        return HttpServerResponse.setHeaders(response, shellHeaders(html))
      })
    )

  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const urlPath = new URL(request.url, "http://console.invalid").pathname
    if (isApiPath(urlPath)) return yield* Effect.fail(new HttpServerError.RouteNotFound({ request }))
    if (urlPath === "/index.html") return yield* shell(request)
    if (urlPath.startsWith("/assets/")) {
      // Resolved inside assets/ itself, so `..` cannot reach the shell or anything else.
      const file = resolveUnder(path.join(root, "assets"), urlPath.slice("/assets".length))
      const body = file === undefined ? undefined : yield* readIfFile(file)
      return file === undefined || body === undefined ? notFoundText("no such asset") : fileResponse(file, body, IMMUTABLE, request)
    }
    if (looksLikeFile(urlPath)) {
      const file = resolveUnder(root, urlPath)
      const body = file === undefined ? undefined : yield* readIfFile(file)
      return file === undefined || body === undefined
        ? notFoundText("not found")
        : fileResponse(file, body, "public, max-age=3600", request)
    }
    return yield* shell(request)
  })
}

/** Adds the console's routes to the API server's router (GET/HEAD only; other methods stay API 404s). */
export const WebConsoleRoutes = (options: WebConsoleOptions): Layer.Layer<never> =>
  HttpApiBuilder.Router.use((router) =>
    Effect.gen(function*() {
      const handle = makeConsoleHandler(options)
      yield* router.get("/", handle)
      yield* router.get("/*", handle)
      yield* router.head("/", handle)
      yield* router.head("/*", handle)
    })
  )
