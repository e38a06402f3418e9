/**
 * Polling for hosts that cannot receive webhooks: every poll-mode Git
 * service is checked every `intervalSeconds` (default 300). The set of
 * services follows the service events (created/updated/deleted re-read that
 * one service) plus a slow resync that heals a missed event; one scheduler
 * loop wakes every few seconds and checks the services that are due, two
 * at a time. A check that fails is recorded on the service and retried at
 * its next turn.
 */
import { Duration, Effect, type Scope } from "effect"
import { type GitService, isGitService } from "../builder/git/GitSources.js"
import type { DatabaseError } from "../db/errors.js"
import type { AutoDeployOutcome } from "../domain/gitStatus.js"
import { Events } from "../events/Events.js"
import { periodic } from "../platform/periodic.js"
import type { ServicesRepo } from "../repos/ServicesRepo.js"

export const DEFAULT_POLL_SECONDS = 300
const TICK = Duration.seconds(5)
const RESYNC = Duration.minutes(10)

export interface PollerOptions {
  readonly services: Pick<typeof ServicesRepo.Service, "find" | "list">
  readonly check: (service: GitService) => Effect.Effect<AutoDeployOutcome, DatabaseError>
}

const pollIntervalOf = (service: GitService): number | undefined => {
  const a = service.source.autoDeploy
  return a === undefined || a === null || a.mode !== "poll" ? undefined : (a.intervalSeconds ?? DEFAULT_POLL_SECONDS) * 1000
}

export const startPoller = (options: PollerOptions): Effect.Effect<void, never, Scope.Scope | Events> =>
  Effect.gen(function*() {
    const events = yield* Events
    /** serviceId → when its next check is due (ms since epoch). */
    const due = new Map<string, { readonly every: number; next: number }>()

    const track = (service: GitService | undefined, id: string) =>
      Effect.sync(() => {
        const every = service === undefined ? undefined : pollIntervalOf(service)
        if (every === undefined) due.delete(id)
        else {
          const current = due.get(id)
          // a new or changed service is checked at once; an unchanged interval keeps its turn
          if (current === undefined || current.every !== every) due.set(id, { every, next: Date.now() })
        }
      })

    const refresh = (id: string) =>
      Effect.flatMap(options.services.find(id), (s) => track(s._tag === "Some" && isGitService(s.value) ? s.value : undefined, id))

    const resync = Effect.gen(function*() {
      const all = yield* options.services.list({})
      const present = new Set(all.map((s) => s.id))
      for (const id of due.keys()) if (!present.has(id)) due.delete(id)
      yield* Effect.forEach(all, (s) => track(isGitService(s) ? s : undefined, s.id), { discard: true })
    })

    const tick = Effect.gen(function*() {
      const now = Date.now()
      const ready = [...due].filter(([, d]) => d.next <= now)
      yield* Effect.forEach(ready, ([id, d]) =>
        Effect.gen(function*() {
          d.next = Date.now() + d.every
          const found = yield* options.services.find(id)
          if (found._tag === "None" || !isGitService(found.value)) return yield* Effect.sync(() => void due.delete(id))
          const outcome = yield* options.check(found.value)
          if (outcome.status === "failed") yield* Effect.logWarning(`auto-deploy poll of service ${id} failed: ${outcome.message}`)
        }).pipe(Effect.catchAllCause((cause) => Effect.logWarning(`auto-deploy poll of service ${id} failed`, cause))), {
        concurrency: 2,
        discard: true
      })
    })

    yield* events.on("autodeploy.services", ["ServiceCreated", "ServiceUpdated", "ServiceDeleted"], (event) =>
      "serviceId" in event ? refresh(event.serviceId) : Effect.void)
    yield* periodic({ name: "autodeploy.resync", every: RESYNC, task: resync, immediate: true })
    yield* periodic({ name: "autodeploy.poll", every: TICK, task: tick })
  })
