import { Option, Schema } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import type { Dispatcher } from "undici"
import { basicHeader, type Challenge, parseWwwAuthenticate, type RegistryCredentials, TokenCache } from "./auth.js"
import { DigestMismatch, ImageNotFound, RegistryProtocolError, RegistryUnauthorized, UnsupportedMediaType } from "./errors.js"
import { isIndexMediaType, isManifestMediaType, manifestAccept } from "./manifest.js"
import type { ImageReference } from "./reference.js"
import { isAllowListed, splitHostPort } from "./ssrf.js"
import { isRetryableError, OciFailure, toBuffer, type Transport } from "./transport.js"

export interface FetchedManifest {
  readonly digest: string
  readonly mediaType: string
  readonly bytes: Buffer
}

export interface BlobTarget {
  readonly digest: string
  readonly size: number
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024
const MAX_TOKEN_BYTES = 1024 * 1024

const readCapped = async (body: Dispatcher.ResponseData["body"], cap: number, what: string, registry: string) => {
  const chunks: Array<Buffer> = []
  let total = 0
  for await (const chunk of body) {
    const buf = toBuffer(chunk)
    total += buf.length
    if (total > cap) {
      body.destroy()
      throw new OciFailure(new RegistryProtocolError({ registry, status: 200, reason: `${what} larger than ${cap} bytes` }))
    }
    chunks.push(buf)
  }
  return Buffer.concat(chunks)
}

const header = (res: Dispatcher.ResponseData, name: string): string | undefined => {
  const v = res.headers[name]
  return Array.isArray(v) ? v[0] : v
}

const TokenResponse = Schema.Struct({
  token: Schema.optional(Schema.String),
  access_token: Schema.optional(Schema.String),
  expires_in: Schema.optional(Schema.Number)
})
type TokenResponse = typeof TokenResponse.Type

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`

/**
 * Promise-based OCI Distribution client (data path). Knows the token flow,
 * Basic and static bearer auth, redirects for blobs, digest verification.
 */
export class RegistryClient {
  private readonly challenges = new Map<string, Challenge>()
  private readonly schemes = new Map<string, Promise<"https:" | "http:">>()

  constructor(
    private readonly transport: Transport,
    private readonly tokens: TokenCache
  ) {}

  /**
   * HTTPS for every registry; allow-listed (insecure / hosted) registries are
   * probed once with HTTPS and spoken to over plain HTTP when that fails.
   */
  private scheme(apiHost: string): Promise<"https:" | "http:"> {
    const { host, port } = splitHostPort(apiHost)
    const policy = this.transport.options.policy
    const insecure = port !== undefined
      ? isAllowListed(policy, host, port)
      : isAllowListed(policy, host, 443) || isAllowListed(policy, host, 80)
    if (!insecure) return Promise.resolve("https:")
    let known = this.schemes.get(apiHost)
    if (known === undefined) {
      known = this.transport.probe(new URL(`https://${apiHost}/v2/`)).then((ok) => (ok ? "https:" : "http:"))
      known.catch(() => this.schemes.delete(apiHost))
      this.schemes.set(apiHost, known)
    }
    return known
  }

  private async url(ref: ImageReference, path: string): Promise<URL> {
    return new URL(`${await this.scheme(ref.apiHost)}//${ref.apiHost}/v2/${ref.repository}/${path}`)
  }

  private async fetchToken(ref: ImageReference, ch: Challenge, scope: string, creds: RegistryCredentials) {
    const realm = ch.params["realm"]
    if (realm === undefined) {
      throw new OciFailure(
        new RegistryProtocolError({ registry: ref.registry, status: 401, reason: "Bearer challenge without realm" })
      )
    }
    const service = ch.params["service"] ?? ""
    const key = TokenCache.key(realm, service, scope, creds)
    const cached = this.tokens.get(key)
    if (cached !== undefined) return cached
    let url: URL
    try {
      url = new URL(realm)
    } catch {
      throw new OciFailure(new RegistryProtocolError({ registry: ref.registry, status: 401, reason: `bad realm ${realm}` }))
    }
    if (service !== "") url.searchParams.set("service", service)
    url.searchParams.set("scope", scope)
    const headers: Record<string, string> = { accept: "application/json" }
    if (creds.kind === "basic") headers["authorization"] = basicHeader(creds.username, creds.password)
    const res = await this.transport.send(url, { headers, registry: ref.registry })
    if (res.statusCode === 401 || res.statusCode === 403) {
      await res.body.dump()
      throw new OciFailure(
        new RegistryUnauthorized({
          registry: ref.registry,
          repository: ref.repository,
          reason: `token endpoint refused the credentials (HTTP ${res.statusCode})`
        })
      )
    }
    if (res.statusCode !== 200) {
      await res.body.dump()
      throw new OciFailure(
        new RegistryProtocolError({ registry: ref.registry, status: res.statusCode, reason: "token endpoint failed" })
      )
    }
    const body = await readCapped(res.body, MAX_TOKEN_BYTES, "token response", ref.registry)
    let parsed: unknown
    try {
      parsed = JSON.parse(body.toString("utf8"))
    } catch {
      parsed = undefined
    }
    const obj = Option.getOrElse(Schema.decodeUnknownOption(TokenResponse)(parsed), (): TokenResponse => ({}))
    const token = obj.token ?? obj.access_token
    if (token === undefined || token === "") {
      throw new OciFailure(
        new RegistryProtocolError({ registry: ref.registry, status: 200, reason: "token response without token" })
      )
    }
    this.tokens.set(key, token, obj.expires_in)
    return token
  }

  /**
   * The Authorization header for `ref`'s registry: nothing until that
   * registry (its own `host:port`) has answered with a challenge, so no
   * credential is ever sent unasked; then Basic, a static bearer token, or a
   * token fetched from the challenge's realm.
   */
  private async authHeader(ref: ImageReference, creds: RegistryCredentials): Promise<string | undefined> {
    const ch = this.challenges.get(ref.apiHost)
    if (ch === undefined) return undefined
    if (creds.kind === "bearer") return `Bearer ${creds.token}`
    if (ch.scheme === "basic") return creds.kind === "basic" ? basicHeader(creds.username, creds.password) : undefined
    if (ch.scheme === "bearer") return `Bearer ${await this.fetchToken(ref, ch, `repository:${ref.repository}:pull`, creds)}`
    return undefined
  }

  private unauthorized(ref: ImageReference, reason: string) {
    return new OciFailure(new RegistryUnauthorized({ registry: ref.registry, repository: ref.repository, reason }))
  }

  /** GET/HEAD with auth negotiation; follows redirects when `follow` (dropping auth across hosts). */
  private async authorized(
    ref: ImageReference,
    url: URL,
    creds: RegistryCredentials,
    extra: Record<string, string>,
    follow: boolean
  ): Promise<Dispatcher.ResponseData> {
    const headersWith = (auth: string | undefined) => (auth ? { ...extra, authorization: auth } : extra)
    const first = await this.authHeader(ref, creds)
    let res = await this.transport.send(url, { headers: headersWith(first), registry: ref.registry })
    if (res.statusCode === 401) {
      const raw = header(res, "www-authenticate") ?? ""
      await res.body.dump()
      const ch = parseWwwAuthenticate(raw).find((c) => c.scheme === "bearer" || c.scheme === "basic")
      if (ch === undefined) throw this.unauthorized(ref, "registry requires authentication")
      if (creds.kind === "bearer" && first !== undefined) throw this.unauthorized(ref, "bearer token rejected")
      // a static bearer token answers either scheme, once this registry has asked
      if (ch.scheme === "basic" && creds.kind === "anonymous") throw this.unauthorized(ref, "registry requires Basic credentials")
      this.challenges.set(ref.apiHost, ch)
      res = await this.transport.send(url, { headers: headersWith(await this.authHeader(ref, creds)), registry: ref.registry })
      if (res.statusCode === 401) {
        await res.body.dump()
        throw this.unauthorized(ref, "credentials rejected")
      }
    }
    if (res.statusCode === 403) {
      await res.body.dump()
      throw this.unauthorized(ref, "access denied (HTTP 403)")
    }
    let hops = 0
    let current = url
    while (follow && [301, 302, 303, 307, 308].includes(res.statusCode)) {
      const location = header(res, "location")
      await res.body.dump()
      if (location === undefined || ++hops > 5) {
        throw new OciFailure(
          new RegistryProtocolError({ registry: ref.registry, status: res.statusCode, reason: "bad or too many redirects" })
        )
      }
      const next = new URL(location, current)
      const sameOrigin = next.origin === url.origin
      const auth = sameOrigin ? await this.authHeader(ref, creds) : undefined
      current = next
      res = await this.transport.send(next, { headers: headersWith(auth), registry: ref.registry })
    }
    return res
  }

  /** Fetches a manifest or index by tag or digest; verifies it against the requested or advertised digest. */
  async getManifest(ref: ImageReference, reference: string, creds: RegistryCredentials): Promise<FetchedManifest> {
    const res = await this.authorized(ref, await this.url(ref, `manifests/${reference}`), creds, { accept: manifestAccept }, true)
    if (res.statusCode === 404) {
      await res.body.dump()
      throw new OciFailure(
        new ImageNotFound({ reference: `${ref.registry}/${ref.repository}@${reference}`, reason: "manifest not found" })
      )
    }
    if (res.statusCode !== 200) {
      await res.body.dump()
      throw new OciFailure(
        new RegistryProtocolError({ registry: ref.registry, status: res.statusCode, reason: `manifest ${reference}` })
      )
    }
    const bytes = await readCapped(res.body, MAX_MANIFEST_BYTES, "manifest", ref.registry)
    const digest = sha256(bytes)
    const expected = reference.startsWith("sha256:") ? reference : header(res, "docker-content-digest")
    if (expected !== undefined && expected.startsWith("sha256:") && expected !== digest) {
      throw new OciFailure(new DigestMismatch({ digest: expected, reason: `manifest content hashes to ${digest}` }))
    }
    let mediaType = (header(res, "content-type") ?? "").split(";")[0]?.trim() ?? ""
    try {
      const parsed: unknown = JSON.parse(bytes.toString("utf8"))
      if (typeof parsed === "object" && parsed !== null && "mediaType" in parsed && typeof parsed.mediaType === "string") {
        mediaType = parsed.mediaType
      } else if (typeof parsed === "object" && parsed !== null && "manifests" in parsed && !isIndexMediaType(mediaType)) {
        mediaType = "application/vnd.oci.image.index.v1+json"
      } else if (typeof parsed === "object" && parsed !== null && "layers" in parsed && !isManifestMediaType(mediaType)) {
        mediaType = "application/vnd.oci.image.manifest.v1+json"
      }
    } catch {
      throw new OciFailure(new UnsupportedMediaType({ mediaType, reason: "manifest is not JSON" }))
    }
    if (!isIndexMediaType(mediaType) && !isManifestMediaType(mediaType)) {
      throw new OciFailure(new UnsupportedMediaType({ mediaType, reason: "not an OCI/Docker v2 manifest or index" }))
    }
    return { digest, mediaType, bytes }
  }

  /**
   * Streams a blob into `destPath` (0600, truncated per attempt), hashing as
   * it goes; retries whole downloads on connection errors. On a digest or
   * size mismatch the file is removed and DigestMismatch is thrown.
   */
  async downloadBlob(
    ref: ImageReference,
    blob: BlobTarget,
    creds: RegistryCredentials,
    destPath: string,
    onBytes: (delta: number) => void,
    /** Sees every chunk (after hashing, before it is written), e.g. to unpack while downloading; awaited. */
    onChunk?: (chunk: Buffer) => Promise<void>
  ): Promise<void> {
    for (let attempt = 1;; attempt++) {
      let written = 0
      try {
        const res = await this.authorized(ref, await this.url(ref, `blobs/${blob.digest}`), creds, {}, true)
        if (res.statusCode === 404) {
          await res.body.dump()
          throw new OciFailure(
            new ImageNotFound({ reference: `${ref.registry}/${ref.repository}@${blob.digest}`, reason: "blob not found" })
          )
        }
        if (res.statusCode !== 200) {
          await res.body.dump()
          throw new OciFailure(
            new RegistryProtocolError({ registry: ref.registry, status: res.statusCode, reason: `blob ${blob.digest}` })
          )
        }
        const hash = createHash("sha256")
        const fh = await fs.open(destPath, "w", 0o600)
        try {
          for await (const chunk of res.body) {
            const buf = toBuffer(chunk)
            written += buf.length
            if (written > blob.size) {
              res.body.destroy()
              throw new OciFailure(
                new DigestMismatch({ digest: blob.digest, reason: `blob is larger than its declared size ${blob.size}` })
              )
            }
            hash.update(buf)
            if (onChunk !== undefined) await onChunk(buf)
            await fh.write(buf)
            onBytes(buf.length)
          }
          await fh.sync()
        } finally {
          await fh.close()
        }
        const actual = `sha256:${hash.digest("hex")}`
        if (written !== blob.size || actual !== blob.digest) {
          throw new OciFailure(
            new DigestMismatch({
              digest: blob.digest,
              reason: written !== blob.size ? `got ${written} bytes, expected ${blob.size}` : `content hashes to ${actual}`
            })
          )
        }
        return
      } catch (e) {
        onBytes(-written)
        if (!(e instanceof OciFailure)) await fs.rm(destPath, { force: true })
        if (e instanceof OciFailure && e.error._tag === "denia/oci/DigestMismatch") await fs.rm(destPath, { force: true })
        // bytes already handed on cannot be taken back: the caller decides what a retry means
        if (!isRetryableError(e) || attempt >= this.transport.attempts || (onChunk !== undefined && written > 0)) throw e
        await this.transport.backoff(attempt, undefined)
      }
    }
  }
}
