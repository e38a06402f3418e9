/**
 * Custom domains: attach (validated, lowercased, never the control domain
 * or a default hostname) → a `pending` claim; `verify` fetches the challenge
 * the ingress serves for that claim; verified domains route and get
 * certificates when the service has `tlsEnabled`.
 *
 * Claims (ADR 0010): pending claims do not block each other — the first to
 * verify wins and the others become `released`; a verified hostname refuses
 * new claims (409); pending claims older than `domain_claim_ttl_hours`
 * become `expired` (checked on list/attach/verify and by a periodic sweep).
 *
 * The route table is rebuilt here, before the call answers (a client fetches
 * the new challenge right after attaching), then the change is published:
 * `DomainChanged` on attach and detach, `DomainVerified` on verification
 * (which wakes the certificate loop).
 */
import { Duration, Effect } from "effect"
import { randomBytes } from "node:crypto"
import { DeniaConfig } from "../config/Config.js"
import { type Domain, validateHostname } from "../domain/domain.js"
import { Conflict, Invalid } from "../domain/errors.js"
import { DomainEvent } from "../events/DomainEvent.js"
import { Events } from "../events/Events.js"
import { periodic } from "../platform/periodic.js"
import { type DomainRecord, DomainsRepo } from "../repos/DomainsRepo.js"
import { ServicesRepo } from "../repos/ServicesRepo.js"
import { VerificationFailed } from "./errors.js"
import { Ingress } from "./Ingress.js"
import { DENIA_PREFIX } from "./proxy.js"
import { verifyChallenge } from "./verify.js"

const VERIFY_TIMEOUT_MS = 5_000
const SWEEP_INTERVAL = Duration.minutes(10)

export class Domains extends Effect.Service<Domains>()("denia/ingress/Domains", {
  scoped: Effect.gen(function*() {
    const config = yield* DeniaConfig
    const repo = yield* DomainsRepo
    const services = yield* ServicesRepo
    const ingress = yield* Ingress
    const events = yield* Events
    const v = config.values
    const portSuffix = v.httpPort === 80 ? "" : `:${v.httpPort}`
    const verifying = new Set<string>()
    const claimTtlMs = v.domainClaimTtlHours * 3_600_000
    const expiredReason = `not verified within ${v.domainClaimTtlHours} hours (domain_claim_ttl_hours)`

    /** Expire stale pending claims; the route table drops their challenges. */
    const expireClaims = Effect.gen(function*() {
      const n = yield* repo.expirePending(new Date(Date.now() - claimTtlMs).toISOString(), expiredReason)
      if (n > 0) yield* ingress.refresh
    })
    yield* periodic({ name: "ingress.domainClaimSweep", every: SWEEP_INTERVAL, task: expireClaims, immediate: true })

    const toApi = (d: DomainRecord): Domain => ({
      id: d.id,
      serviceId: d.serviceId,
      hostname: d.hostname,
      status: d.status,
      statusReason: d.statusReason,
      verificationToken: d.token,
      verificationUrl: `http://${d.hostname}${portSuffix}${DENIA_PREFIX}${d.token}`,
      verifiedAt: d.verifiedAt,
      lastError: d.lastError,
      certificate: { status: d.certStatus, expiresAt: d.certExpiresAt, error: d.certError },
      createdAt: d.createdAt,
      updatedAt: d.updatedAt
    })

    const list = (serviceId: string) =>
      Effect.gen(function*() {
        yield* services.get(serviceId)
        yield* expireClaims
        return (yield* repo.listByService(serviceId)).map(toApi)
      })

    const attach = (serviceId: string, input: string) =>
      Effect.gen(function*() {
        const service = yield* services.get(serviceId)
        if (service.port === null) {
          return yield* new Conflict({ message: "the service is a worker (port: null) and has no HTTP route; give it a port first" })
        }
        const checked = validateHostname(input)
        if (!checked.ok) return yield* Effect.fail(new Invalid({ field: "hostname", message: checked.reason }))
        const hostname = checked.hostname
        const base = v.baseDomain.toLowerCase()
        if (v.controlDomain !== "" && hostname === v.controlDomain.toLowerCase()) {
          return yield* Effect.fail(new Invalid({ field: "hostname", message: "is the control domain of this node" }))
        }
        if (hostname === base || hostname.endsWith(`.${base}`)) {
          return yield* Effect.fail(
            new Invalid({ field: "hostname", message: `names under base_domain ${base} are default hostnames, not custom domains` })
          )
        }
        yield* expireClaims
        const created = yield* repo.create({
          serviceId,
          hostname,
          token: randomBytes(24).toString("base64url"),
          proof: randomBytes(32).toString("base64url")
        })
        yield* ingress.refresh
        yield* events.publish(DomainEvent.DomainChanged({ serviceId, hostname }))
        return toApi(created)
      })

    const remove = (serviceId: string, domainId: string) =>
      Effect.gen(function*() {
        const d = yield* repo.get(serviceId, domainId)
        yield* repo.remove(serviceId, domainId)
        yield* ingress.refresh
        yield* ingress.dropCertificate(d.hostname)
        yield* events.publish(DomainEvent.DomainChanged({ serviceId, hostname: d.hostname }))
      })

    const verify = (serviceId: string, domainId: string) =>
      Effect.gen(function*() {
        yield* expireClaims
        const d = yield* repo.get(serviceId, domainId)
        if (d.status === "verified") return toApi(d)
        if (d.status !== "pending") {
          return yield* Effect.fail(
            new Conflict({
              message: `hostname: the claim on ${d.hostname} is ${d.status} (${d.statusReason ?? "closed"}); attach it again`
            })
          )
        }
        if (verifying.has(d.id)) return yield* Effect.fail(new Conflict({ message: `a verification of ${d.hostname} is already running` }))
        verifying.add(d.id)
        const failure = yield* Effect.promise(() =>
          verifyChallenge(d.hostname, d.token, d.proof, {
            httpPort: v.httpPort,
            dnsServers: v.dnsServers,
            allowPrivate: v.domainVerificationAllowPrivate,
            timeoutMs: VERIFY_TIMEOUT_MS
          })
        ).pipe(Effect.ensuring(Effect.sync(() => verifying.delete(d.id))))
        if (failure !== undefined) {
          yield* repo.setError(d.id, failure)
          return yield* Effect.fail(new VerificationFailed({ hostname: d.hostname, reason: failure }))
        }
        // lost to a claim verified meanwhile: this one is released; drop its challenge
        yield* repo.markVerified(d.id).pipe(Effect.tapError(() => ingress.refresh))
        yield* ingress.refresh
        yield* events.publish(DomainEvent.DomainVerified({ serviceId, hostname: d.hostname }))
        return toApi(yield* repo.get(serviceId, domainId))
      })

    return { list, attach, remove, verify }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
