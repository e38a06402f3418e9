/**
 * The ingress subsystem: owns the route table (rebuilt from the database on
 * domain events and by a slow safety resync — `routeEvents.ts` — and swapped
 * atomically), the access logs, the certificate store, ACME issuance
 * and renewal, and the public HTTP/HTTPS listeners as scoped resources. If a
 * public port cannot be bound, it logs why and the daemon (API) keeps running.
 */
import { Duration, Effect, Runtime } from "effect"
import { randomBytes } from "node:crypto"
import type * as http from "node:http"
import * as path from "node:path"
import { DeniaConfig } from "../config/Config.js"
import { parseAddress } from "../config/fields.js"
import { periodic } from "../platform/periodic.js"
import { DomainsRepo } from "../repos/DomainsRepo.js"
import { ProjectsRepo } from "../repos/ProjectsRepo.js"
import { ServicesRepo } from "../repos/ServicesRepo.js"
import { AccessLogs, type ErrorCounts } from "./accessLog.js"
import { AcmeIssuer } from "./acme.js"
import { CertStore } from "./certs.js"
import { defaultLimits } from "./limits.js"
import { closeServer, listenHttp, listenHttps } from "./listen.js"
import { type AcmeChallengeEntry, createProxy, type UpstreamFailureEvent } from "./proxy.js"
import { backoffMs, certificateDue, type FailureState } from "./renewal.js"
import { ReplicaRegistry } from "./ReplicaRegistry.js"
import { followRouteEvents } from "./routeEvents.js"
import { buildSnapshot, type Route, RouteTable } from "./routes.js"

const CERT_CHECK = Duration.hours(1)

export interface RouteInfo {
  readonly hostname: string
  readonly kind: "default" | "domain" | "control"
  readonly serviceId: string | null
  readonly project: string | null
  readonly service: string | null
  readonly tlsEnabled: boolean
  readonly healthyReplicas: number
  readonly certificateExpiresAt: string | null
}

export interface RequestInfo {
  readonly at: string
  readonly method: string
  readonly path: string
  readonly status: number
  readonly bytes: number
  readonly durationMs: number
  readonly replica: string | null
  readonly clientIp: string
  /** Why the ingress answered 502/503/504 or cut the response (ADR 0502); null for normal answers. */
  readonly error: string | null
}

/** Upstream failures of one service since the daemon started (ADR 0502). */
export interface UpstreamErrorCounts extends ErrorCounts {
  readonly total: number
  readonly since: string
}

/** At most one daemon log line per service and this interval; the rest is summed into the next one. */
const FAILURE_LOG_INTERVAL_MS = 5_000

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

export class Ingress extends Effect.Service<Ingress>()("denia/ingress/Ingress", {
  scoped: Effect.gen(function*() {
    const config = yield* DeniaConfig
    const servicesRepo = yield* ServicesRepo
    const projectsRepo = yield* ProjectsRepo
    const domainsRepo = yield* DomainsRepo
    const registry = yield* ReplicaRegistry
    const v = config.values

    const routes = new RouteTable()
    const logs = new AccessLogs(1000)
    const acmeChallenges = new Map<string, AcmeChallengeEntry>()
    const certs = new CertStore(path.join(config.paths.tls, "certs"))
    const controlDomain = v.controlDomain.toLowerCase()

    const rebuild = Effect.gen(function*() {
      const [services, projects, domains] = yield* Effect.all([servicesRepo.list({}), projectsRepo.list, domainsRepo.listAll])
      const projectName = new Map(projects.map((p) => [p.id, p.name]))
      const snapshot = buildSnapshot({
        baseDomain: v.baseDomain,
        controlDomain,
        controlTls: v.controlTls,
        // workers (port: null) have no HTTP route
        services: services.filter((s) => s.port !== null).map((s) => ({
          id: s.id,
          name: s.name,
          projectName: projectName.get(s.projectId) ?? "",
          tlsEnabled: s.tlsEnabled
        })),
        domains
      })
      routes.set(snapshot)
      return snapshot
    })
    yield* rebuild

    // Certificates on disk are loaded before the HTTPS listener accepts.
    const loaded = certs.loadAll()
    for (const f of loaded.failed) yield* Effect.logWarning(`ingress: cannot load the certificate for ${f.hostname}: ${f.error}`)

    // Upstream failures are logged from the proxy's plain callbacks through the daemon's runtime (and its logger).
    const runtime = yield* Effect.runtime<never>()
    const lastFailureLog = new Map<string, { at: number; suppressed: number }>()
    const logFailure = (e: UpstreamFailureEvent): void => {
      const key = e.serviceId ?? "control"
      const now = Date.now()
      const prev = lastFailureLog.get(key)
      if (prev !== undefined && now - prev.at < FAILURE_LOG_INTERVAL_MS) {
        prev.suppressed++
        return
      }
      lastFailureLog.set(key, { at: now, suppressed: 0 })
      const more = prev !== undefined && prev.suppressed > 0 ? ` (${prev.suppressed} more since the last report)` : ""
      Runtime.runFork(runtime)(
        Effect.logWarning(`ingress: ${e.status} for ${e.path}: ${e.failure.reason}${more}`).pipe(
          Effect.annotateLogs({ service: e.serviceId ?? "control", replica: e.replica ?? "none" })
        )
      )
    }

    const api = parseAddress(v.bindAddr)
    const viaToken = `denia-${randomBytes(4).toString("hex")}`
    const proxy = createProxy({
      routes,
      replicas: registry.table,
      logs,
      acmeChallenges,
      hasCertificate: (h) => certs.has(h),
      control: controlDomain === "" || api === undefined
        ? undefined
        : { host: api.host === "0.0.0.0" ? "127.0.0.1" : api.host === "::" ? "::1" : api.host, port: api.port },
      httpsPort: v.httpsPort,
      viaToken,
      upstreamTimeoutMs: 300_000,
      onUpstreamFailure: logFailure
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => proxy.close()))

    /** Binds a listener in the daemon scope; a failure is logged and the daemon goes on. */
    const bind = (what: string, port: number, open: (host: string) => Promise<http.Server>) =>
      Effect.acquireRelease(
        Effect.tryPromise(() => open("::")).pipe(
          Effect.catchIf(
            (e) => /EAFNOSUPPORT|EADDRNOTAVAIL/.test(errorText(e.error)),
            () => Effect.tryPromise(() => open("0.0.0.0"))
          ),
          Effect.tap(() => Effect.logInfo(`ingress: ${what} listening on port ${port}`)),
          Effect.map((s): http.Server | undefined => s),
          Effect.catchAll((e) =>
            Effect.logError(`ingress: cannot listen for ${what} on port ${port} (${errorText(e.error)}); the API keeps running without it`)
              .pipe(
                Effect.as(undefined)
              )
          )
        ),
        (s) => (s === undefined ? Effect.void : Effect.promise(() => closeServer(s)))
      )
    yield* bind("HTTP", v.httpPort, (host) => listenHttp(proxy, defaultLimits, host, v.httpPort))
    yield* bind("HTTPS", v.httpsPort, (host) => listenHttps(proxy, defaultLimits, host, v.httpsPort, (name) => certs.context(name)))

    // --- certificates -------------------------------------------------------
    const issuer = new AcmeIssuer(
      { directoryUrl: v.acmeDirectoryUrl, email: v.acmeEmail, caFile: v.acmeCaFile, tlsDir: config.paths.tls },
      acmeChallenges,
      certs
    )
    const failures = new Map<string, FailureState>()

    /** Hosts that should have a certificate: verified domains of TLS services, and the control domain with `control_tls`. */
    const certificateTargets = (): ReadonlyArray<{ hostname: string; domain: boolean }> => {
      const out: Array<{ hostname: string; domain: boolean }> = []
      for (const r of routes.current.hosts.values()) {
        if (r.kind === "service" && r.source === "domain" && r.tlsEnabled) out.push({ hostname: r.hostname, domain: true })
        if (r.kind === "control" && r.tlsEnabled) out.push({ hostname: r.hostname, domain: false })
      }
      return out
    }

    const due = (hostname: string, now: number): boolean => certificateDue(certs.get(hostname)?.notAfter, failures.get(hostname), now)

    const ensureOne = (target: { hostname: string; domain: boolean }) =>
      Effect.gen(function*() {
        const { hostname } = target
        if (target.domain) {
          yield* domainsRepo.setCertificate(hostname, {
            status: "pending",
            expiresAt: certs.get(hostname)?.notAfter.toISOString() ?? null,
            error: null
          })
        }
        const result = yield* Effect.either(Effect.tryPromise(() => issuer.issue(hostname)))
        if (result._tag === "Right") {
          failures.delete(hostname)
          const notAfter = certs.get(hostname)?.notAfter.toISOString() ?? null
          yield* Effect.logInfo(`ingress: certificate for ${hostname} issued (valid until ${notAfter})`)
          if (target.domain) yield* domainsRepo.setCertificate(hostname, { status: "issued", expiresAt: notAfter, error: null })
        } else {
          const prev = failures.get(hostname)
          const attempts = (prev?.attempts ?? 0) + 1
          failures.set(hostname, { at: Date.now(), attempts })
          const message = errorText(result.left.error)
          yield* Effect.logWarning(
            `ingress: certificate for ${hostname} failed (attempt ${attempts}, retry in ${backoffMs(attempts) / 1000} s): ${message}`
          )
          if (target.domain) {
            yield* domainsRepo.setCertificate(hostname, {
              status: "failed",
              expiresAt: certs.get(hostname)?.notAfter.toISOString() ?? null,
              error: message.slice(0, 500)
            })
          }
        }
      })

    const ensureCertificates = Effect.gen(function*() {
      const now = Date.now()
      const todo = certificateTargets().filter((t) => due(t.hostname, now))
      yield* Effect.forEach(todo, ensureOne, { concurrency: 2, discard: true })
    })

    // Route changes and domain verification wake the certificate loop early.
    const certificateLoop = yield* periodic({ name: "ingress.certificates", every: CERT_CHECK, immediate: true, task: ensureCertificates })
    const signal = certificateLoop.wake

    const refresh = rebuild.pipe(
      Effect.tap(() => {
        const now = Date.now()
        return certificateTargets().some((t) => !certs.has(t.hostname) && due(t.hostname, now)) ? signal : Effect.void
      }),
      Effect.asVoid
    )
    yield* followRouteEvents({ rebuild: refresh, requestCertificates: signal })

    const describe = (r: Route): RouteInfo =>
      r.kind === "control"
        ? {
          hostname: r.hostname,
          kind: "control",
          serviceId: null,
          project: null,
          service: null,
          tlsEnabled: r.tlsEnabled,
          healthyReplicas: 0,
          certificateExpiresAt: certs.get(r.hostname)?.notAfter.toISOString() ?? null
        }
        : {
          hostname: r.hostname,
          kind: r.source,
          serviceId: r.serviceId,
          project: r.projectName,
          service: r.serviceName,
          tlsEnabled: r.tlsEnabled,
          healthyReplicas: registry.table.healthyCount(r.serviceId),
          certificateExpiresAt: certs.get(r.hostname)?.notAfter.toISOString() ?? null
        }

    return {
      /** Rebuilds the route table now (Domains, before answering; other subsystems publish events instead). */
      refresh,
      /** Runs one certificate pass and waits for it (tests, CLI). */
      ensureCertificates,
      routes: Effect.sync(() => [...routes.current.hosts.values()].map(describe).sort((a, b) => a.hostname.localeCompare(b.hostname))),
      requests: (serviceId: string, limit: number) =>
        Effect.sync((): ReadonlyArray<RequestInfo> =>
          logs.recent(serviceId, limit).map((e) => ({
            at: new Date(e.at).toISOString(),
            method: e.method,
            path: e.path,
            status: e.status,
            bytes: e.bytes,
            durationMs: e.durationMs,
            replica: e.replica,
            clientIp: e.clientIp,
            error: e.error ?? null
          }))
        ),
      /** Per-service counters of the upstream failures answered since the daemon started. */
      upstreamErrors: (serviceId: string) =>
        Effect.sync((): UpstreamErrorCounts => {
          const c = logs.failureCounts(serviceId)
          return {
            ...c,
            total: c.parseError + c.reset + c.timeout + c.connectFailed + c.noHealthyReplica,
            since: new Date(logs.countingSince).toISOString()
          }
        }),
      /** Last request time of a service (ms since epoch), for idle detection. */
      lastActivity: (serviceId: string) => Effect.sync(() => logs.lastActivityAt(serviceId)),
      /** Forgets a domain's certificate (domain detached). */
      dropCertificate: (hostname: string) => Effect.sync(() => certs.remove(hostname)),
      hasCertificate: (hostname: string) => Effect.sync(() => certs.has(hostname))
    }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
