/**
 * Auto-deploy of Git sources (SPEC §10, ADR 0804): webhook deliveries and
 * polling both end in `observe` — the followed ref's commit is compared with
 * the last one seen (or deployed) and only a new commit queues a deployment
 * through the `DeployTrigger` port. Observations, triggers and failures are
 * recorded in `git_state` and shown on the service (`GET …/git`). Triggers
 * of one service run one at a time, so a delivery and a poll never deploy
 * the same commit twice.
 */
import { Context, Effect, Either, Layer, Option } from "effect"
import { randomBytes } from "node:crypto"
import { InvalidCredentials } from "../auth/errors.js"
import { type GitService, GitSources, isGitService } from "../builder/git/GitSources.js"
import type { DatabaseError } from "../db/errors.js"
import { Invalid, type NotFound } from "../domain/errors.js"
import type { AutoDeployOutcome, GitStatus } from "../domain/gitStatus.js"
import type { AutoDeploy as AutoDeploySpec } from "../domain/service.js"
import { makeKeyedMutex } from "../platform/keyedMutex.js"
import { DeploymentsRepo } from "../repos/DeploymentsRepo.js"
import { EMPTY_GIT_STATUS, GitStateRepo } from "../repos/GitStateRepo.js"
import { ServicesRepo } from "../repos/ServicesRepo.js"
import { commitChanged, type Follow, followOf, matchPushedRef } from "./decide.js"
import { DeployTrigger } from "./DeployTrigger.js"
import { startPoller } from "./poller.js"
import { highestTag } from "./tags.js"
import { forgeOf, hashSecret, parsePush, secretMatches, verifyDelivery } from "./webhook.js"

export interface HookDelivery {
  readonly serviceId: string
  readonly secret: string
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly rawBody: string
  readonly clientIp: string
}

/** Every refusal of a delivery looks the same from outside: no oracle for service ids or secrets. */
const refused = (why: string) => new InvalidCredentials({ message: `hook: ${why}` })

const autoDeployOf = (service: GitService): AutoDeploySpec | undefined => service.source.autoDeploy ?? undefined

const make = Effect.gen(function*() {
  const services = yield* ServicesRepo
  const state = yield* GitStateRepo
  const deployments = yield* DeploymentsRepo
  const sources = yield* GitSources
  const trigger = yield* DeployTrigger
  const lock = yield* makeKeyedMutex<string>()

  const gitService = (serviceId: string): Effect.Effect<GitService, NotFound | Invalid | DatabaseError> =>
    Effect.flatMap(
      services.get(serviceId),
      (s) =>
        isGitService(s)
          ? Effect.succeed(s)
          : Effect.fail(new Invalid({ field: "source", message: "the service does not have a git source" }))
    )

  /** The commit `follow` names on the remote now, with the ref to build. */
  const resolveRemote = (service: GitService, follow: Follow) =>
    Effect.gen(function*() {
      if (follow.kind === "branch") {
        const refs = yield* sources.remoteRefs(service, { kind: "branch", branch: follow.branch })
        const head = refs.find((r) => r.name === `refs/heads/${follow.branch}`)
        return head === undefined
          ? Either.left(`branch ${follow.branch} does not exist on the remote`)
          : Either.right({ ref: follow.branch, commit: head.commit })
      }
      const refs = yield* sources.remoteRefs(service, { kind: "tags" })
      const tags = refs.map((r) => ({ ...r, tag: r.name.replace(/^refs\/tags\//, "") }))
      const best = highestTag(tags.map((t) => t.tag), follow.pattern)
      const hit = tags.find((t) => t.tag === best)
      return hit === undefined ? Either.left(`no tag matches ${follow.pattern}`) : Either.right({ ref: hit.tag, commit: hit.commit })
    })

  /** Deploys `commit` of `ref` unless it is the commit last seen; records what happened. */
  const observe = (
    service: GitService,
    observed: { readonly ref: string; readonly commit: string },
    kind: "webhook" | "poll",
    clientIp: string | undefined
  ): Effect.Effect<AutoDeployOutcome, DatabaseError> =>
    Effect.gen(function*() {
      const known = yield* state.find(service.id)
      const seen = Option.getOrUndefined(known)?.lastSeenCommit ?? Option.getOrUndefined(yield* deployments.latestCommit(service.id))
      if (!commitChanged(seen, observed.commit)) {
        yield* state.recordCheck(service.id, { ref: observed.ref, commit: observed.commit, error: null })
        return { status: "unchanged", message: `${observed.ref} is still at ${observed.commit.slice(0, 12)}`, ...observed } as const
      }
      const queued = yield* Effect.either(
        trigger.deploy({ serviceId: service.id, trigger: kind, gitRef: observed.ref, commit: observed.commit, clientIp })
      )
      if (Either.isLeft(queued)) {
        yield* state.recordCheck(service.id, {
          ref: observed.ref,
          error: `deploy of ${observed.ref} could not be queued: ${queued.left.message}`
        })
        return { status: "failed", message: queued.left.message, ...observed } as const
      }
      yield* state.recordCheck(service.id, { ...observed, deploymentId: queued.right.deploymentId, error: null })
      return {
        status: "deploying",
        message: `deploying ${observed.ref} at ${observed.commit.slice(0, 12)}`,
        ...observed,
        deploymentId: queued.right.deploymentId
      } as const
    })

  const recordFailure = (serviceId: string, message: string) => state.recordCheck(serviceId, { error: message })

  /** A webhook delivery: authenticated, parsed, matched against what the service follows, then observed. */
  const hook = (delivery: HookDelivery): Effect.Effect<AutoDeployOutcome, InvalidCredentials | Invalid | DatabaseError> =>
    Effect.gen(function*() {
      const found = yield* services.find(delivery.serviceId)
      const known = yield* state.find(delivery.serviceId)
      const storedHash = Option.getOrUndefined(known)?.webhookSecretHash
      // the same refusal for an unknown service, a service without a hook and a wrong secret
      if (Option.isNone(found) || storedHash === undefined || !secretMatches(delivery.secret, storedHash)) {
        return yield* refused("unknown hook or wrong secret")
      }
      const service = found.value
      const forge = forgeOf(delivery.headers)
      const verified = verifyDelivery(forge, delivery.headers, delivery.rawBody, delivery.secret)
      if (Either.isLeft(verified)) return yield* refused(verified.left)
      if (!isGitService(service)) return { status: "ignored", message: "the service no longer has a git source" } as const
      const autoDeploy = autoDeployOf(service)
      if (autoDeploy === undefined || autoDeploy.mode !== "webhook") {
        return { status: "ignored", message: "auto-deploy by webhook is off for this service" } as const
      }
      const body = yield* Effect.try({
        try: (): unknown => JSON.parse(delivery.rawBody),
        catch: () => new Invalid({ field: "body", message: "must be JSON" })
      })
      const push = parsePush(forge, delivery.headers, body)
      if (Either.isLeft(push)) {
        const [field, ...rest] = push.left.split(": ")
        return yield* new Invalid({ field: field ?? "body", message: rest.join(": ") })
      }
      if (push.right.kind === "other") return { status: "ignored", message: `${push.right.reason}; nothing to deploy` } as const
      const follow = followOf(service.source, autoDeploy)
      const matched = matchPushedRef(follow, push.right.ref)
      if ("ignored" in matched) return { status: "ignored", message: matched.ignored } as const
      const pushedCommit = push.right.commit
      return yield* lock.withLock(service.id)(Effect.gen(function*() {
        if (pushedCommit !== undefined) {
          return yield* observe(service, { ref: matched.ref, commit: pushedCommit }, "webhook", delivery.clientIp)
        }
        // the plain form names no commit: ask the remote
        const remote = yield* Effect.either(
          resolveRemote(service, follow.kind === "branch" ? follow : { kind: "tags", pattern: matched.ref })
        )
        const resolved = Either.isLeft(remote)
          ? Either.left(remote.left._tag === "denia/builder/GitFailed" ? remote.left.message : "internal error (see daemon log)")
          : remote.right
        if (Either.isLeft(resolved)) {
          yield* recordFailure(service.id, resolved.left)
          return { status: "failed", message: resolved.left } as const
        }
        return yield* observe(service, resolved.right, "webhook", delivery.clientIp)
      }))
    })

  /** One poll of `service` (the poller's tick, or "check now"); failures are recorded on the service. */
  const check = (service: GitService, kind: "webhook" | "poll" = "poll"): Effect.Effect<AutoDeployOutcome, DatabaseError> =>
    lock.withLock(service.id)(Effect.gen(function*() {
      const autoDeploy = autoDeployOf(service)
      if (autoDeploy === undefined) return { status: "ignored", message: "auto-deploy is off for this service" } as const
      const remote = yield* Effect.either(resolveRemote(service, followOf(service.source, autoDeploy)))
      if (Either.isLeft(remote)) {
        if (remote.left._tag === "denia/db/DatabaseError") return yield* remote.left
        yield* recordFailure(service.id, remote.left.message)
        return { status: "failed", message: remote.left.message } as const
      }
      if (Either.isLeft(remote.right)) {
        yield* recordFailure(service.id, remote.right.left)
        return { status: "failed", message: remote.right.left } as const
      }
      return yield* observe(service, remote.right.right, kind, undefined)
    }))

  /** `POST …/git/check`: poll now, whatever the mode. */
  const checkNow = (serviceId: string) => Effect.flatMap(gitService(serviceId), (s) => check(s))

  /** A new webhook secret (the old one stops working); only its hash is kept. */
  const rotateSecret = (serviceId: string): Effect.Effect<string, NotFound | Invalid | DatabaseError> =>
    Effect.gen(function*() {
      const service = yield* gitService(serviceId)
      const secret = randomBytes(32).toString("base64url")
      yield* state.setWebhookSecretHash(service.id, hashSecret(secret))
      return secret
    })

  const resetHostKey = (serviceId: string) => Effect.flatMap(gitService(serviceId), (s) => state.clearHostKey(s.id))

  const status = (serviceId: string): Effect.Effect<GitStatus, NotFound | Invalid | DatabaseError> =>
    Effect.flatMap(
      gitService(serviceId),
      (s) => Effect.map(state.find(s.id), (row) => Option.match(row, { onNone: () => EMPTY_GIT_STATUS, onSome: (r) => r.status }))
    )

  yield* startPoller({ services, check })

  return { hook, checkNow, rotateSecret, resetHostKey, status }
})

export type AutoDeployApi = Effect.Effect.Success<typeof make>

export class AutoDeploy extends Context.Tag("denia/autodeploy/AutoDeploy")<AutoDeploy, AutoDeployApi>() {
  static readonly layer = Layer.scoped(AutoDeploy, make)
}
