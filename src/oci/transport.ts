import { Agent, type Dispatcher, request } from "undici"
import { type OciError, RegistryProtocolError, RegistryUnreachable, SsrfRefused } from "./errors.js"
import { assertPublicHost, guardedLookup, isAllowListed, SsrfBlocked, type SsrfPolicy } from "./ssrf.js"

/**
 * Carries a typed error through promise-based data-path code; the Effect
 * boundary in the service unwraps it.
 */
export class OciFailure extends Error {
  constructor(readonly error: OciError) {
    super(error.message)
  }
}

export interface TransportOptions {
  readonly policy: SsrfPolicy
  /** Attempts per request for 5xx/429/connection failures (default 4). */
  readonly maxAttempts?: number
  /** Base backoff in ms (doubled per attempt, with jitter; default 250). */
  readonly backoffMs?: number
  readonly connectTimeoutMs?: number
  readonly headersTimeoutMs?: number
  /** Idle time allowed between body chunks. */
  readonly bodyTimeoutMs?: number
}

export interface SendOptions {
  readonly method?: "GET" | "HEAD"
  readonly headers?: Record<string, string>
  /** Label for errors (registry host). */
  readonly registry: string
}

const retryableCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED"
])

/** Body chunks from undici/streams as Buffers (no copy for Buffers). */
export const toBuffer = (chunk: unknown): Buffer => {
  if (Buffer.isBuffer(chunk)) return chunk
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  if (typeof chunk === "string") return Buffer.from(chunk)
  throw new TypeError("unexpected stream chunk")
}

const errorCode = (e: unknown): string | undefined => {
  let cur: unknown = e
  for (let depth = 0; depth < 4 && cur instanceof Error; depth++) {
    if ("code" in cur && typeof cur.code === "string") return cur.code
    cur = cur.cause
  }
  return undefined
}

const findSsrf = (e: unknown): SsrfBlocked | undefined => {
  let cur: unknown = e
  for (let depth = 0; depth < 4 && cur instanceof Error; depth++) {
    if (cur instanceof SsrfBlocked) return cur
    cur = cur.cause
  }
  return undefined
}

export const isRetryableError = (e: unknown): boolean => {
  if (e instanceof OciFailure) return e.error._tag === "denia/oci/RegistryUnreachable"
  if (findSsrf(e)) return false
  const code = errorCode(e)
  return code !== undefined && retryableCodes.has(code)
}

/** Maps a thrown value from the data path to a typed error. */
export const toOciError = (e: unknown, registry: string): OciError => {
  if (e instanceof OciFailure) return e.error
  const ssrf = findSsrf(e)
  if (ssrf) return new SsrfRefused({ host: ssrf.host, address: ssrf.address, reason: ssrf.reason })
  const code = errorCode(e)
  return new RegistryUnreachable({
    registry,
    reason: `${code !== undefined ? `${code}: ` : ""}${e instanceof Error ? e.message : String(e)}`
  })
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const defaultPort = (url: URL) => (url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80)

/** HTTP transport for registry traffic: SSRF-guarded connects, timeouts, retries, no automatic redirects. */
export class Transport {
  readonly agent: Agent
  private readonly maxAttempts: number
  private readonly backoffMs: number

  constructor(readonly options: TransportOptions) {
    this.maxAttempts = options.maxAttempts ?? 4
    this.backoffMs = options.backoffMs ?? 250
    this.agent = new Agent({
      connect: { lookup: guardedLookup(options.policy), timeout: options.connectTimeoutMs ?? 15_000 },
      headersTimeout: options.headersTimeoutMs ?? 60_000,
      bodyTimeout: options.bodyTimeoutMs ?? 120_000,
      keepAliveTimeout: 10_000,
      connections: 16
    })
  }

  /** Refuses internal addresses (unless allow-listed) and plain HTTP to non-allow-listed hosts. */
  async checkUrl(url: URL): Promise<void> {
    const port = defaultPort(url)
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new OciFailure(new SsrfRefused({ host: url.host, address: "", reason: `scheme ${url.protocol} not allowed` }))
    }
    if (url.protocol === "http:" && !isAllowListed(this.options.policy, url.hostname, port)) {
      throw new OciFailure(
        new SsrfRefused({ host: url.host, address: "", reason: "plain HTTP only allowed for insecure registries" })
      )
    }
    try {
      await assertPublicHost(this.options.policy, url.hostname, port)
    } catch (e) {
      if (e instanceof SsrfBlocked) {
        throw new OciFailure(new SsrfRefused({ host: url.host, address: e.address, reason: e.reason }))
      }
      throw e
    }
  }

  /**
   * Single attempt, no retries: true when the URL answers HTTP at all (any
   * status), false on connection or TLS failure. SSRF refusals propagate.
   */
  async probe(url: URL): Promise<boolean> {
    await this.checkUrl(url)
    try {
      const res = await request(url, {
        dispatcher: this.agent,
        method: "GET",
        headers: { "user-agent": "denia-oci/0.1" },
        headersTimeout: 10_000
      })
      await res.body.dump()
      return true
    } catch (e) {
      if (findSsrf(e)) throw e
      return false
    }
  }

  /** One request with retries on connection errors, 429 and 5xx. The caller consumes or dumps the body. */
  async send(url: URL, opts: SendOptions): Promise<Dispatcher.ResponseData> {
    await this.checkUrl(url)
    let lastError: unknown
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        const res = await request(url, {
          dispatcher: this.agent,
          method: opts.method ?? "GET",
          headers: { "user-agent": "denia-oci/0.1", ...(opts.headers ?? {}) }
        })
        if ((res.statusCode >= 500 || res.statusCode === 429) && attempt < this.maxAttempts) {
          await res.body.dump().catch(() => undefined)
          lastError = new OciFailure(
            new RegistryProtocolError({ registry: opts.registry, status: res.statusCode, reason: `HTTP ${res.statusCode}` })
          )
          await this.backoff(attempt, res.headers["retry-after"])
          continue
        }
        return res
      } catch (e) {
        lastError = e
        if (!isRetryableError(e) || attempt === this.maxAttempts) throw e
        await this.backoff(attempt, undefined)
      }
    }
    throw lastError
  }

  async backoff(attempt: number, retryAfter: string | string[] | undefined): Promise<void> {
    const ra = typeof retryAfter === "string" ? Number(retryAfter) : NaN
    const base = Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 10_000) : this.backoffMs * 2 ** (attempt - 1)
    await sleep(base / 2 + Math.random() * (base / 2))
  }

  /** Attempts for whole-blob retries (mid-body resets). */
  get attempts(): number {
    return this.maxAttempts
  }

  close(): Promise<void> {
    return this.agent.close()
  }
}
