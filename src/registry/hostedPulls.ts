/**
 * Pull authorization for the deployer's pulls from Denia's own registry.
 *
 * The deploy API authorizes a hosted repository for the calling principal and
 * records a grant (service, repository → principal). When the deployment
 * pipeline pulls, it mints from that grant a random, in-memory, pull-only
 * token scoped to exactly that repository, valid for a few minutes and
 * revoked when the pull ends. `/v2` accepts the token only for pulls of the
 * repositories in its scope, and still checks that the principal behind it may
 * pull them. The bootstrap admin token is never used for these pulls.
 */
import { Effect, Option } from "effect"
import { randomBytes } from "node:crypto"
import { DeniaConfig } from "../config/Config.js"
import { parseAddress } from "../config/fields.js"
import type { Principal } from "../domain/principal.js"
import { parseReference } from "../oci/reference.js"

/** Token prefix: tells pull tokens apart from sessions and API tokens without a lookup. */
const TOKEN_PREFIX = "dnp_"
/** How long a grant from a deploy request stays usable (the pipeline may queue behind another deploy). */
const GRANT_TTL_MS = 60 * 60 * 1000
/** How long one minted token is accepted (a pull revokes it when it ends). */
const TOKEN_TTL_MS = 15 * 60 * 1000
const MAX_ENTRIES = 10_000

export interface PullScope {
  /** The principal the token acts for; `/v2` re-checks its role. */
  readonly principal: Principal
  /** `<project>/<service>` names the token may pull. */
  readonly repositories: ReadonlySet<string>
  /** Build tokens: the repositories it may also push (its service's own). */
  readonly push?: ReadonlySet<string>
  /** Build tokens: `FROM` may pull any repository the principal may read (still role-checked). */
  readonly pullAny?: boolean
}

interface Expiring<A> {
  readonly value: A
  readonly expiresAt: number
}

/** A hosted reference split for the deployer: repository and the `:tag` / `@digest` suffix. */
export interface HostedReference {
  readonly repository: string
  readonly suffix: string
}

const LOOPBACK_SPELLINGS: ReadonlySet<string> = new Set(["127.0.0.1", "localhost", "[::1]", "0.0.0.0", "[::]"])

const bracketed = (host: string) => (host.includes(":") ? `[${host}]` : host)

export class HostedPulls extends Effect.Service<HostedPulls>()("denia/registry/HostedPulls", {
  effect: Effect.gen(function*() {
    const config = yield* DeniaConfig
    const bind = parseAddress(config.values.bindAddr)
    const bindHost = bind === undefined ? "" : bracketed(bind.host).toLowerCase()
    const bindPort = bind?.port
    /** Where the daemon dials its own registry: the bind address, loopback for wildcard binds. */
    const address = bind === undefined
      ? config.values.bindAddr
      : bind.host === "0.0.0.0"
      ? `127.0.0.1:${bind.port}`
      : bind.host === "::"
      ? `[::1]:${bind.port}`
      : `${bindHost}:${bind.port}`

    const grants = new Map<string, Expiring<Principal>>()
    const tokens = new Map<string, Expiring<PullScope>>()

    const sweep = <A>(map: Map<string, Expiring<A>>) => {
      if (map.size <= MAX_ENTRIES) return
      const now = Date.now()
      for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k)
    }
    const live = <A>(map: Map<string, Expiring<A>>, key: string): Option.Option<A> => {
      const hit = map.get(key)
      if (hit === undefined) return Option.none()
      if (hit.expiresAt <= Date.now()) {
        map.delete(key)
        return Option.none()
      }
      return Option.some(hit.value)
    }

    /** Is `host[:port]` (from a reference) one of the spellings of the daemon's own address? */
    const isOwnHost = (hostPort: string): boolean => {
      if (bindPort === undefined) return false
      const lower = hostPort.toLowerCase()
      const colon = lower.lastIndexOf(":")
      if (colon < 0 || lower.endsWith("]")) return false
      const host = lower.slice(0, colon)
      const port = Number(lower.slice(colon + 1))
      return port === bindPort && (host === bindHost || LOOPBACK_SPELLINGS.has(host))
    }

    /** The repository of a reference to the hosted registry, none for other registries or invalid references. */
    const hostedReference = (reference: string): Option.Option<HostedReference> =>
      Effect.runSync(
        parseReference(reference).pipe(
          Effect.map((ref) =>
            isOwnHost(ref.registry)
              ? Option.some({
                repository: ref.repository,
                suffix: `${ref.tag !== undefined && ref.digest === undefined ? `:${ref.tag}` : ""}${
                  ref.digest !== undefined ? `@${ref.digest}` : ""
                }`
              })
              : Option.none()
          ),
          Effect.orElseSucceed(() => Option.none<HostedReference>())
        )
      )

    const grantKey = (serviceId: string, repository: string) => `${serviceId}\n${repository}`

    /** Records that `principal` (already authorized) asked `serviceId` to pull `repository`. */
    const grant = (serviceId: string, repository: string, principal: Principal): Effect.Effect<void> =>
      Effect.sync(() => {
        grants.set(grantKey(serviceId, repository), { value: principal, expiresAt: Date.now() + GRANT_TTL_MS })
        sweep(grants)
      })

    /**
     * A pull-only token for `repository`, from the live grant the service holds for `grantRepository`
     * (the same repository for a deploy's pull; the build's own repository for the base prewarm of
     * deploy/basePrewarm.ts, which reads a base image and never pushes); none without a grant.
     */
    const mintPullFrom = (serviceId: string, grantRepository: string, repository: string): Effect.Effect<Option.Option<string>> =>
      Effect.sync(() =>
        Option.map(live(grants, grantKey(serviceId, grantRepository)), (principal) => {
          const token = `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`
          tokens.set(token, { value: { principal, repositories: new Set([repository]) }, expiresAt: Date.now() + TOKEN_TTL_MS })
          sweep(tokens)
          return token
        })
      )

    /** A pull-only token for one repository, from the service's live grant; none without one. */
    const mint = (serviceId: string, repository: string): Effect.Effect<Option.Option<string>> =>
      mintPullFrom(serviceId, repository, repository)

    /**
     * A build token (builder/, ADR 0801): push to `repository` (the build's own), pull whatever the
     * principal of the service's live grant may read (`FROM` of a hosted base image); none without a grant.
     */
    const mintBuild = (serviceId: string, repository: string): Effect.Effect<Option.Option<string>> =>
      Effect.sync(() =>
        Option.map(live(grants, grantKey(serviceId, repository)), (principal) => {
          const token = `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`
          const repositories = new Set([repository])
          tokens.set(token, { value: { principal, repositories, push: repositories, pullAny: true }, expiresAt: Date.now() + TOKEN_TTL_MS })
          sweep(tokens)
          return token
        })
      )

    const revoke = (token: string): Effect.Effect<void> => Effect.sync(() => void tokens.delete(token))

    /** The scope of a live pull token; none for anything else. */
    const verify = (token: string): Option.Option<PullScope> => (token.startsWith(TOKEN_PREFIX) ? live(tokens, token) : Option.none())

    return { address, isOwnHost, hostedReference, grant, mint, mintPullFrom, mintBuild, revoke, verify }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
