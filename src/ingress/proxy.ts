/**
 * The per-request data path: plain Node callbacks over immutable snapshots
 * (route table, replica sets). No Effect runtime here; the `Ingress` layer
 * owns the servers' lifecycle.
 *
 * Order for every request: hygiene limits → one authority (`Host` and the
 * request target, see requestTarget.ts) → ACME / Denia challenges → route by
 * that authority → HTTP→HTTPS redirect for TLS hosts → replica (round-robin,
 * activation when none) → stream both ways.
 */
import { timingSafeEqual } from "node:crypto"
import * as http from "node:http"
import type * as net from "node:net"
import type { AccessLogs } from "./accessLog.js"
import { withControlHop } from "./controlHop.js"
import { clientIp, upstreamHeaders } from "./headers.js"
import { MAX_HEADER_COUNT } from "./limits.js"
import type { ReplicaConn, ReplicaTable } from "./ReplicaRegistry.js"
import { isTargetError, type RequestTarget, requestTarget, type TargetError } from "./requestTarget.js"
import type { Route, RouteTable } from "./routes.js"
import { makeTunnel, type ProxyControl, rejectUpgrade } from "./upgradeTunnel.js"
import { forwardAgent } from "./upstreamAgent.js"
import { classifyUpstreamError, noHealthyReplica, type UpstreamErrorKind, type UpstreamFailure } from "./upstreamErrors.js"
import { forwardUndici } from "./upstreamUndici.js"

export const ACME_PREFIX = "/.well-known/acme-challenge/"
export const DENIA_PREFIX = "/.well-known/denia-challenge/"

export interface AcmeChallengeEntry {
  readonly hostname: string
  readonly keyAuthorization: string
}

export interface ProxyContext {
  readonly routes: RouteTable
  readonly replicas: ReplicaTable
  readonly logs: AccessLogs
  /** ACME HTTP-01 token → answer (filled while an order is in progress). */
  readonly acmeChallenges: ReadonlyMap<string, AcmeChallengeEntry>
  /** True when a certificate for that host is loaded (TLS hosts redirect only then). */
  readonly hasCertificate: (hostname: string) => boolean
  /** Loopback API (control domain target); undefined = control domain off. */
  readonly control: ProxyControl | undefined
  readonly httpsPort: number
  /** This daemon's `Via` token; a request already carrying it is a loop. */
  readonly viaToken: string
  readonly upstreamTimeoutMs: number
  /** Upstream client for replicas: undici pools (default) or node:http agents. */
  readonly upstream?: "agent" | "undici"
  /** Called for every upstream failure the ingress answers (or cuts a response) for; the daemon logs it. */
  readonly onUpstreamFailure?: (event: UpstreamFailureEvent) => void
}

export interface UpstreamFailureEvent {
  /** Undefined for the control domain. */
  readonly serviceId: string | undefined
  readonly replica: string | null
  readonly path: string
  /** The status the client got (the replica's own when the failure came after the response head). */
  readonly status: number
  readonly failure: UpstreamFailure
}

interface ExchangeState {
  bytes: number
  /** The failure reason once one happened (the first one wins). */
  error: string | null
}

/** What the client reads: short and generic (details go to the log and the requests API, not to the internet). */
const BODY: Record<UpstreamErrorKind, string> = {
  parseError: "bad gateway\n",
  reset: "bad gateway\n",
  connectFailed: "bad gateway\n",
  timeout: "upstream timeout\n",
  noHealthyReplica: "no healthy replica\n"
}

const plain = (res: http.ServerResponse, status: number, body: string, extra?: Record<string, string>): void => {
  if (res.destroyed || res.writableEnded) return
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), ...extra })
  res.end(body)
}

const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Tokens are URL-safe; anything else cannot be one of ours. */
const TOKEN_RE = /^[A-Za-z0-9_-]{1,128}$/

export interface Proxy {
  readonly onRequest: (secure: boolean) => (req: http.IncomingMessage, res: http.ServerResponse) => void
  readonly onUpgrade: (secure: boolean) => (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => void
  readonly close: () => void
}

export const createProxy = (ctx: ProxyContext): Proxy => {
  const controlAgent = new http.Agent({ keepAlive: true, maxSockets: 128 })
  const viaValue = `1.1 ${ctx.viaToken}`
  const useUndici = ctx.upstream !== "agent"

  /** Hygiene checks shared by requests and upgrades; returns a status to refuse with, or 0. */
  const refuse = (req: http.IncomingMessage): number => {
    if (req.rawHeaders.length > MAX_HEADER_COUNT * 2) return 431
    const te = req.headers["transfer-encoding"]
    if (te !== undefined && req.headers["content-length"] !== undefined) return 400
    const via = req.headers.via
    if (via !== undefined && via.includes(ctx.viaToken)) return 508
    return 0
  }

  /**
   * The request's one authority; an absolute-form target is rewritten to
   * origin-form here so everything downstream (challenges, redirects, access
   * log, both upstream clients) sees the path the replica receives.
   */
  const targetOf = (req: http.IncomingMessage): RequestTarget | TargetError => {
    const target = requestTarget(req)
    if (!isTargetError(target)) req.url = target.path
    return target
  }

  /** Challenges answered before routing; true when handled. */
  const challenge = (req: http.IncomingMessage, res: http.ServerResponse, host: string): boolean => {
    const url = req.url ?? "/"
    if (url.startsWith(ACME_PREFIX)) {
      const token = url.slice(ACME_PREFIX.length)
      const entry = TOKEN_RE.test(token) ? ctx.acmeChallenges.get(token) : undefined
      if (entry === undefined || entry.hostname !== host) plain(res, 404, "not found\n")
      else plain(res, 200, entry.keyAuthorization)
      return true
    }
    if (url.startsWith(DENIA_PREFIX)) {
      const token = url.slice(DENIA_PREFIX.length)
      const entry = TOKEN_RE.test(token) ? ctx.routes.current.challenges.get(token) : undefined
      if (entry === undefined || !safeEqual(entry.hostname, host)) plain(res, 404, "not found\n")
      else plain(res, 200, entry.proof)
      return true
    }
    return false
  }

  const redirect = (res: http.ServerResponse, host: string, url: string): void => {
    const port = ctx.httpsPort === 443 ? "" : `:${ctx.httpsPort}`
    plain(res, 308, "permanent redirect to https\n", { location: `https://${host}${port}${url}` })
  }

  /** Records the request in the service's access log once the response is over. */
  const logOnClose = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    serviceId: string | undefined,
    started: number,
    replicaId: string | null,
    ip: string,
    state: ExchangeState
  ): void => {
    if (serviceId === undefined) return
    res.on("close", () => {
      const now = Date.now()
      ctx.logs.record(serviceId, {
        at: now,
        method: req.method ?? "",
        path: req.url ?? "",
        status: res.statusCode,
        bytes: state.bytes,
        durationMs: now - started,
        replica: replicaId,
        clientIp: ip,
        error: state.error
      })
    })
  }

  /** Answers (or cuts) a failed exchange, counts it and reports it once. */
  const fail = (
    res: http.ServerResponse,
    serviceId: string | undefined,
    replicaId: string | null,
    path: string,
    state: ExchangeState,
    failure: UpstreamFailure
  ): void => {
    if (state.error !== null) return
    const midResponse = res.headersSent
    state.error = midResponse ? `${failure.reason} (after the response head)` : failure.reason
    if (serviceId !== undefined) ctx.logs.countFailure(serviceId, failure.kind)
    ctx.onUpstreamFailure?.({ serviceId, replica: replicaId, path, status: midResponse ? res.statusCode : failure.status, failure })
    plain(res, failure.status, BODY[failure.kind])
  }

  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    route: Route,
    authority: string,
    secure: boolean,
    replica: ReplicaConn | undefined,
    started: number,
    attempt: number
  ): void => {
    const serviceId = route.kind === "service" ? route.serviceId : undefined
    const ip = clientIp(req.socket)
    const forwarded = upstreamHeaders(req, ip, authority, secure ? "https" : "http", viaValue, false)
    const headers = route.kind === "control" ? withControlHop(forwarded) : forwarded
    const replicaId = replica?.id ?? null
    const state: ExchangeState = { bytes: 0, error: null }
    const path = req.url ?? "/"
    if (useUndici && replica !== undefined) {
      let abort: (() => void) | undefined
      let clientGone = false
      replica.acquire()
      res.on("close", () => {
        if (res.writableFinished || abort === undefined) return
        clientGone = true
        abort()
      })
      logOnClose(req, res, serviceId, started, replicaId, ip, state)
      try {
        forwardUndici(replica.pool, req, res, headers, {
          setAbort: (f) => {
            abort = f
          },
          onBytes: (n) => {
            state.bytes += n
          },
          onDone: () => replica.release(),
          onFailure: (err) => {
            if (!clientGone) fail(res, serviceId, replicaId, path, state, classifyUpstreamError(err, ctx.upstreamTimeoutMs))
          }
        })
      } catch {
        // the upstream client refused the request outright (e.g. bytes it will not send)
        replica.release()
        plain(res, 400, "bad request\n")
      }
      return
    }
    const options: http.RequestOptions = replica !== undefined
      ? { agent: replica.agent, method: req.method ?? "GET", path, headers }
      : {
        agent: controlAgent,
        host: ctx.control?.host ?? "127.0.0.1",
        port: ctx.control?.port ?? 0,
        method: req.method ?? "GET",
        path,
        headers
      }
    let finished = false
    if (replica !== undefined) replica.acquire()
    const done = () => {
      if (finished) return
      finished = true
      if (replica !== undefined) replica.release()
    }
    if (attempt === 0) logOnClose(req, res, serviceId, started, replicaId, ip, state)
    try {
      forwardAgent(options, req, res, ctx.upstreamTimeoutMs, attempt, {
        onBytes: (n) => {
          state.bytes += n
        },
        onDone: done,
        onFailure: (err, retry) => {
          // the pooled connection was closed by the replica just as we reused it: once more on a fresh one
          if (retry) forward(req, res, route, authority, secure, replica, started, 1)
          else fail(res, serviceId, replicaId, path, state, classifyUpstreamError(err, ctx.upstreamTimeoutMs))
        }
      })
    } catch {
      plain(res, 400, "bad request\n")
    }
  }

  const dispatch = (req: http.IncomingMessage, res: http.ServerResponse, secure: boolean): void => {
    const started = Date.now()
    const status = refuse(req)
    if (status !== 0) {
      res.shouldKeepAlive = false
      plain(res, status, status === 431 ? "too many headers\n" : status === 508 ? "loop detected\n" : "bad request\n", {
        connection: "close"
      })
      return
    }
    const target = targetOf(req)
    if (isTargetError(target)) {
      res.shouldKeepAlive = false
      plain(res, 400, `bad request: ${target.reason}\n`, { connection: "close" })
      return
    }
    const { host, authority } = target
    if (challenge(req, res, host)) return
    const route = ctx.routes.current.hosts.get(host)
    if (route === undefined) {
      plain(res, 404, "no route for this host\n")
      return
    }
    if (!secure && route.tlsEnabled && ctx.hasCertificate(host)) {
      redirect(res, host, req.url ?? "/")
      return
    }
    if (route.kind === "control") {
      if (ctx.control === undefined) plain(res, 404, "no route for this host\n")
      else forward(req, res, route, authority, secure, undefined, started, 0)
      return
    }
    ctx.logs.touch(route.serviceId, started)
    const replica = ctx.replicas.pick(route.serviceId)
    if (replica !== undefined) {
      forward(req, res, route, authority, secure, replica, started, 0)
      return
    }
    void ctx.replicas.activate(route.serviceId).then((ok) => {
      const r = ok ? ctx.replicas.pick(route.serviceId) : undefined
      if (r === undefined || req.destroyed) {
        plain(res, 503, "no healthy replica\n", { "retry-after": "5" })
        ctx.logs.countFailure(route.serviceId, noHealthyReplica.kind)
        ctx.onUpstreamFailure?.({ serviceId: route.serviceId, replica: null, path: req.url ?? "/", status: 503, failure: noHealthyReplica })
        ctx.logs.record(route.serviceId, {
          at: Date.now(),
          method: req.method ?? "",
          path: req.url ?? "",
          status: 503,
          bytes: 0,
          durationMs: Date.now() - started,
          replica: null,
          clientIp: clientIp(req.socket),
          error: noHealthyReplica.reason
        })
      } else forward(req, res, route, authority, secure, r, started, 0)
    })
  }

  const tunnel = makeTunnel(ctx.control, viaValue)

  const upgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer, secure: boolean): void => {
    socket.on("error", () => socket.destroy())
    const status = refuse(req)
    if (status !== 0) {
      rejectUpgrade(socket, status, status === 431 ? "Request Header Fields Too Large" : "Bad Request")
      return
    }
    const target = targetOf(req)
    if (isTargetError(target)) {
      rejectUpgrade(socket, 400, "Bad Request")
      return
    }
    const { host, authority } = target
    const route = ctx.routes.current.hosts.get(host)
    if (route === undefined) {
      rejectUpgrade(socket, 404, "Not Found")
      return
    }
    if (route.kind === "control") {
      if (ctx.control === undefined) rejectUpgrade(socket, 404, "Not Found")
      else tunnel(req, socket, head, authority, secure, undefined)
      return
    }
    ctx.logs.touch(route.serviceId, Date.now())
    const replica = ctx.replicas.pick(route.serviceId)
    if (replica !== undefined) {
      tunnel(req, socket, head, authority, secure, replica)
      return
    }
    void ctx.replicas.activate(route.serviceId).then((ok) => {
      const r = ok ? ctx.replicas.pick(route.serviceId) : undefined
      if (r === undefined) rejectUpgrade(socket, 503, "Service Unavailable")
      else tunnel(req, socket, head, authority, secure, r)
    })
  }

  return {
    onRequest: (secure) => (req, res) => dispatch(req, res, secure),
    onUpgrade: (secure) => (req, socket, head) => upgrade(req, socket, head, secure),
    close: () => controlAgent.destroy()
  }
}
