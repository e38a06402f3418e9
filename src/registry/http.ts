/**
 * The OCI Distribution API under /v2, served as one raw route on the API
 * server. Requests and responses are handled on the Node objects directly so
 * blob bodies stream to and from disk without buffering.
 */
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Cause, Effect, type Layer, Option } from "effect"
import * as fs from "node:fs"
import type { IncomingMessage, ServerResponse } from "node:http"
import { pipeline } from "node:stream/promises"
import type { Principal } from "../domain/principal.js"
import { RegistryRepo } from "../repos/RegistryRepo.js"
import { REALM, type RegistryAction, type Repository } from "./access.js"
import { boundedDetail, clip, DistributionError, ERROR_MESSAGE_MAX, ociError, statusOf } from "./errors.js"
import { HostedRegistry, type UploadState } from "./HostedRegistry.js"
import { MANIFEST_MAX_BYTES, MEDIA_TYPES } from "./manifest.js"
import { contentLength, parseContentRange, parseRange, rangeHeader, readBody } from "./requestParts.js"

const API_VERSION = { "docker-distribution-api-version": "registry/2.0" }

type Headers = Record<string, string>

interface Ctx {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly url: URL
  readonly method: string
}

const send = (ctx: Ctx, status: number, headers: Headers, body?: string | Buffer) =>
  Effect.async<void>((resume) => {
    const payload = ctx.method === "HEAD" ? undefined : body
    const all: Headers = { ...API_VERSION, ...headers }
    if (body !== undefined && all["content-length"] === undefined) all["content-length"] = String(Buffer.byteLength(body))
    if (body === undefined && all["content-length"] === undefined) all["content-length"] = "0"
    ctx.res.writeHead(status, all)
    ctx.res.end(payload, () => resume(Effect.void))
  })

const sendJson = (ctx: Ctx, status: number, value: unknown, headers: Headers = {}) =>
  send(ctx, status, { "content-type": "application/json", ...headers }, JSON.stringify(value))

const sendError = (ctx: Ctx, e: DistributionError) => {
  const status = statusOf(e)
  const headers: Headers = status === 401 ? { "www-authenticate": `Basic realm="${REALM}"` } : {}
  const detail = e.detail as { size?: unknown } | undefined
  if (status === 416 && typeof detail?.size === "number") headers["range"] = rangeHeader(detail.size)
  // a refused body is not read to its end: close instead of draining it
  if (status === 413) headers["connection"] = "close"
  // bounded whatever the request carried (huge digests, names, lists of missing blobs)
  const body = { errors: [{ code: e.code, message: clip(e.message, ERROR_MESSAGE_MAX), detail: boundedDetail(e.detail ?? null) }] }
  return sendJson(ctx, status, body, headers)
}

/** Drains an unread request body so keep-alive connections survive an early error. */
const drain = (req: IncomingMessage) =>
  Effect.sync(() => {
    if (!req.readableEnded) req.resume()
  })

const uploadHeaders = (name: string, u: UploadState): Headers => ({
  location: `/v2/${name}/blobs/uploads/${u.id}`,
  range: rangeHeader(u.size),
  "docker-upload-uuid": u.id
})

const ROUTE = /^\/v2\/(.+)\/(blobs\/uploads\/?|blobs\/uploads\/([^/]+)|blobs\/([^/]+)|manifests\/([^/]+)|tags\/list|referrers\/([^/]+))$/

const pageSize = (url: URL): number | undefined | DistributionError => {
  const n = url.searchParams.get("n")
  if (n === null || n === "") return undefined
  const v = Number(n)
  return Number.isSafeInteger(v) && v >= 0 ? v : ociError("PAGINATION_NUMBER_INVALID", "n must be a non-negative integer", { n })
}

const makeHandler = Effect.gen(function*() {
  const registry = yield* HostedRegistry
  const meta = yield* RegistryRepo
  const { access } = registry

  const repoFor = (principal: Principal, name: string, action: RegistryAction) => access.repository(principal, name, action)

  const serveBlob = (ctx: Ctx, r: Repository, digest: string) =>
    Effect.gen(function*() {
      const blob = yield* registry.statBlob(r, digest)
      const base: Headers = {
        "docker-content-digest": digest,
        "content-type": "application/octet-stream",
        "accept-ranges": "bytes",
        etag: `"${digest}"`
      }
      const rangeHeaderValue = ctx.req.headers["range"]
      let start = 0
      let end = blob.size - 1
      let status = 200
      if (ctx.method === "GET" && rangeHeaderValue !== undefined) {
        const range = parseRange(rangeHeaderValue, blob.size)
        if (range === undefined) {
          return yield* send(ctx, 416, { ...base, "content-range": `bytes */${blob.size}` })
        }
        start = range.start
        end = range.end
        status = 206
        base["content-range"] = `bytes ${start}-${end}/${blob.size}`
      }
      const length = blob.size === 0 ? 0 : end - start + 1
      if (ctx.method === "HEAD" || length === 0) return yield* send(ctx, status, { ...base, "content-length": String(length) })
      ctx.res.writeHead(status, { ...API_VERSION, ...base, "content-length": String(length) })
      yield* Effect.tryPromise({
        try: (signal) => pipeline(fs.createReadStream(blob.file, { start, end, highWaterMark: 1024 * 1024 }), ctx.res, { signal }),
        catch: (e) => e
      }).pipe(Effect.catchAll(() => Effect.sync(() => ctx.res.destroy())))
    })

  const postUpload = (ctx: Ctx, principal: Principal, r: Repository) =>
    Effect.gen(function*() {
      const mountDigest = ctx.url.searchParams.get("mount")
      const from = ctx.url.searchParams.get("from")
      if (mountDigest !== null && from !== null) {
        const source = yield* repoFor(principal, from, "pull").pipe(Effect.option)
        if (Option.isSome(source) && (yield* registry.mount(r, source.value, mountDigest))) {
          yield* drain(ctx.req)
          return yield* send(ctx, 201, { location: `/v2/${r.name}/blobs/${mountDigest}`, "docker-content-digest": mountDigest })
        }
      }
      const digest = ctx.url.searchParams.get("digest")
      if (digest !== null) {
        yield* registry.monolithic(r, digest, ctx.req, contentLength(ctx.req))
        return yield* send(ctx, 201, { location: `/v2/${r.name}/blobs/${digest}`, "docker-content-digest": digest })
      }
      yield* drain(ctx.req)
      const upload = yield* registry.startUpload(r)
      return yield* send(ctx, 202, uploadHeaders(r.name, upload))
    })

  const uploadSession = (ctx: Ctx, r: Repository, id: string) =>
    Effect.gen(function*() {
      switch (ctx.method) {
        case "GET": {
          const u = yield* registry.findUpload(r, id)
          return yield* send(ctx, 204, uploadHeaders(r.name, u))
        }
        case "PATCH": {
          const range = parseContentRange(ctx.req.headers["content-range"])
          if (range === "invalid") {
            const u = yield* registry.findUpload(r, id)
            return yield* ociError("RANGE_INVALID", "Content-Range must be <start>-<end>", { size: u.size }, 416)
          }
          const u = yield* registry.appendChunk(r, id, ctx.req, range, contentLength(ctx.req))
          return yield* send(ctx, 202, uploadHeaders(r.name, u))
        }
        case "PUT": {
          const digest = ctx.url.searchParams.get("digest")
          if (digest === null) return yield* ociError("DIGEST_INVALID", "PUT needs a digest query parameter")
          const length = contentLength(ctx.req)
          const hasBody = length !== 0 && (length !== undefined || ctx.req.headers["transfer-encoding"] !== undefined)
          yield* registry.finishUpload(r, id, digest, hasBody ? ctx.req : undefined, length)
          return yield* send(ctx, 201, { location: `/v2/${r.name}/blobs/${digest}`, "docker-content-digest": digest })
        }
        case "DELETE": {
          yield* registry.cancelUpload(r, id)
          return yield* send(ctx, 204, {})
        }
        default:
          return yield* ociError("UNSUPPORTED", `${ctx.method} is not allowed on an upload`, undefined, 405)
      }
    })

  const manifests = (ctx: Ctx, principal: Principal, name: string, reference: string) =>
    Effect.gen(function*() {
      switch (ctx.method) {
        case "GET":
        case "HEAD": {
          const r = yield* repoFor(principal, name, "pull")
          const m = yield* registry.readManifest(r, reference)
          return yield* send(
            ctx,
            200,
            {
              "content-type": m.row.mediaType,
              "docker-content-digest": m.row.digest,
              etag: `"${m.row.digest}"`,
              "content-length": String(m.bytes.length)
            },
            m.bytes
          )
        }
        case "PUT": {
          const r = yield* repoFor(principal, name, "push")
          const declared = contentLength(ctx.req)
          if (declared !== undefined && declared > MANIFEST_MAX_BYTES) {
            return yield* ociError(
              "SIZE_INVALID",
              `manifest is larger than ${MANIFEST_MAX_BYTES} bytes`,
              { limit: MANIFEST_MAX_BYTES },
              413
            )
          }
          const body = yield* readBody(ctx.req, MANIFEST_MAX_BYTES)
          const stored = yield* registry.putManifest(r, reference, body, ctx.req.headers["content-type"])
          const headers: Headers = { location: `/v2/${r.name}/manifests/${stored.digest}`, "docker-content-digest": stored.digest }
          if (stored.subject !== undefined) headers["oci-subject"] = stored.subject
          return yield* send(ctx, 201, headers)
        }
        case "DELETE": {
          const r = yield* repoFor(principal, name, "push")
          yield* registry.deleteManifest(r, reference)
          return yield* send(ctx, 202, {})
        }
        default:
          return yield* ociError("UNSUPPORTED", `${ctx.method} is not allowed on a manifest`, undefined, 405)
      }
    })

  const tagsList = (ctx: Ctx, r: Repository) =>
    Effect.gen(function*() {
      const n = pageSize(ctx.url)
      if (n instanceof DistributionError) return yield* n
      const last = ctx.url.searchParams.get("last") ?? undefined
      if (n === 0) return yield* sendJson(ctx, 200, { name: r.name, tags: [] })
      const tags = yield* registry.listTags(r, last, n === undefined ? undefined : n + 1)
      const page = n === undefined ? tags : tags.slice(0, n)
      const headers: Headers = {}
      const lastOnPage = page.at(-1)
      if (n !== undefined && tags.length > n && lastOnPage !== undefined) {
        headers["link"] = `</v2/${r.name}/tags/list?n=${n}&last=${encodeURIComponent(lastOnPage)}>; rel="next"`
      }
      return yield* sendJson(ctx, 200, { name: r.name, tags: page }, headers)
    })

  const catalog = (ctx: Ctx, principal: Principal) =>
    Effect.gen(function*() {
      const n = pageSize(ctx.url)
      if (n instanceof DistributionError) return yield* n
      const last = ctx.url.searchParams.get("last") ?? undefined
      const visible = yield* access.pullableProjects(principal)
      if (n === 0) return yield* sendJson(ctx, 200, { repositories: [] })
      const names = yield* meta.catalog(visible, last, n === undefined ? undefined : n + 1)
      const page = n === undefined ? names : names.slice(0, n)
      const headers: Headers = {}
      const lastOnPage = page.at(-1)
      if (n !== undefined && names.length > n && lastOnPage !== undefined) {
        headers["link"] = `</v2/_catalog?n=${n}&last=${encodeURIComponent(lastOnPage)}>; rel="next"`
      }
      return yield* sendJson(ctx, 200, { repositories: page }, headers)
    })

  const referrers = (ctx: Ctx, r: Repository, digest: string) =>
    Effect.gen(function*() {
      const artifactType = ctx.url.searchParams.get("artifactType") ?? undefined
      const rows = yield* registry.referrers(r, digest, artifactType)
      const headers: Headers = { "content-type": MEDIA_TYPES.ociIndex }
      if (artifactType !== undefined) headers["oci-filters-applied"] = "artifactType"
      return yield* send(
        ctx,
        200,
        headers,
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.ociIndex,
          manifests: rows.map((m) => ({
            mediaType: m.mediaType,
            digest: m.digest,
            size: m.size,
            ...(m.artifactType !== null ? { artifactType: m.artifactType } : {})
          }))
        })
      )
    })

  const route = (ctx: Ctx) =>
    Effect.gen(function*() {
      const principal = yield* access.authenticate(ctx.req.headers["authorization"])
      const p = ctx.url.pathname
      if (p === "/v2/" || p === "/v2") {
        if (ctx.method !== "GET" && ctx.method !== "HEAD") return yield* ociError("UNSUPPORTED", "only GET /v2/", undefined, 405)
        return yield* sendJson(ctx, 200, {})
      }
      if (p === "/v2/_catalog") {
        if (ctx.method !== "GET") return yield* ociError("UNSUPPORTED", "only GET /v2/_catalog", undefined, 405)
        return yield* catalog(ctx, principal)
      }
      const m = ROUTE.exec(p)
      if (m === null) return yield* ociError("NAME_UNKNOWN", "no such registry route", { path: p }, 404)
      const name = decodeURIComponent(m[1] ?? "")
      const kind = m[2] ?? ""
      const sessionId = m[3]
      const blobDigest = m[4]
      const reference = m[5]
      const subject = m[6]
      if (reference !== undefined) return yield* manifests(ctx, principal, name, decodeURIComponent(reference))
      if (kind === "tags/list") {
        if (ctx.method !== "GET") return yield* ociError("UNSUPPORTED", "only GET tags/list", undefined, 405)
        return yield* tagsList(ctx, yield* repoFor(principal, name, "pull"))
      }
      if (subject !== undefined) {
        if (ctx.method !== "GET") return yield* ociError("UNSUPPORTED", "only GET referrers", undefined, 405)
        return yield* referrers(ctx, yield* repoFor(principal, name, "pull"), decodeURIComponent(subject))
      }
      if (sessionId !== undefined) return yield* uploadSession(ctx, yield* repoFor(principal, name, "push"), sessionId)
      if (kind.startsWith("blobs/uploads")) {
        if (ctx.method !== "POST") return yield* ociError("UNSUPPORTED", `${ctx.method} is not allowed here`, undefined, 405)
        return yield* postUpload(ctx, principal, yield* repoFor(principal, name, "push"))
      }
      if (blobDigest !== undefined) {
        const digest = decodeURIComponent(blobDigest)
        if (ctx.method === "GET" || ctx.method === "HEAD") return yield* serveBlob(ctx, yield* repoFor(principal, name, "pull"), digest)
        if (ctx.method === "DELETE") {
          yield* registry.deleteBlob(yield* repoFor(principal, name, "push"), digest)
          return yield* send(ctx, 202, {})
        }
        return yield* ociError("UNSUPPORTED", `${ctx.method} is not allowed on a blob`, undefined, 405)
      }
      return yield* ociError("NAME_UNKNOWN", "no such registry route", { path: p }, 404)
    })

  return (ctx: Ctx) =>
    route(ctx).pipe(
      Effect.catchAll((e) =>
        e instanceof DistributionError
          ? Effect.zipRight(drain(ctx.req), sendError(ctx, e))
          : Effect.logError("registry storage failure", e).pipe(
            Effect.zipRight(drain(ctx.req)),
            Effect.zipRight(sendError(ctx, ociError("UNKNOWN", "internal storage error")))
          )
      ),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause)
          : Effect.logError("registry request failed", cause).pipe(
            Effect.zipRight(
              ctx.res.headersSent ? Effect.sync(() => ctx.res.destroy()) : sendError(ctx, ociError("UNKNOWN", "internal error"))
            )
          )
      )
    )
})

/**
 * Adds `/v2` to the API server's router. The response is written on the Node
 * response directly; the empty Effect response afterwards is ignored by the
 * server because the Node response has ended.
 */
export const RegistryRoutes = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function*() {
    const handle = yield* makeHandler
    const route = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const req = NodeHttpServerRequest.toIncomingMessage(request)
      const res = NodeHttpServerRequest.toServerResponse(request)
      const url = new URL(req.url ?? "/", "http://registry.invalid")
      yield* handle({ req, res, url, method: (req.method ?? "GET").toUpperCase() })
      return HttpServerResponse.empty()
    })
    yield* router.all("/v2", route)
    yield* router.all("/v2/*", route)
  })
)

export const RegistryRoutesLive: Layer.Layer<never, never, HostedRegistry | RegistryRepo> = RegistryRoutes
