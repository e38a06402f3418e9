/**
 * The node's build slots (`build_concurrency`, default 1): a FIFO queue in which a waiting build learns
 * how many builds are ahead of it, again each time the line moves, so its deployment log can say
 * `building: queued (n ahead)`.
 */
import { Deferred, Effect } from "effect"

interface Waiter {
  readonly granted: Deferred.Deferred<void>
  readonly onPosition: (ahead: number) => Effect.Effect<void>
}

export interface BuildQueue {
  /** Runs `effect` in a slot; `onPosition(n)` is called while it waits (n builds ahead of it). */
  readonly run: <A, E, R>(
    onPosition: (ahead: number) => Effect.Effect<void>,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E, R>
  /** Builds running and waiting right now. */
  readonly snapshot: Effect.Effect<{ readonly running: number; readonly waiting: number }>
}

export const makeBuildQueue = (slots: number): Effect.Effect<BuildQueue> =>
  Effect.sync(() => {
    let running = 0
    const waiting: Array<Waiter> = []

    const release = Effect.suspend(() => {
      const next = waiting.shift()
      if (next === undefined) {
        running--
        return Effect.void
      }
      // the slot passes straight to the next waiter (running stays the same)
      return Deferred.succeed(next.granted, undefined).pipe(Effect.zipRight(announceAll()))
    })

    /** Tells every waiter its place: the builds queued before it plus the one whose slot it will take. */
    const announceAll = (): Effect.Effect<void> => Effect.forEach(waiting.slice(), (w, i) => w.onPosition(i + 1), { discard: true })

    const acquire = (onPosition: (ahead: number) => Effect.Effect<void>) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          if (running < slots && waiting.length === 0) {
            running++
            return
          }
          const granted = yield* Deferred.make<void>()
          const waiter: Waiter = { granted, onPosition }
          waiting.push(waiter)
          yield* onPosition(waiting.length)
          yield* restore(Deferred.await(granted)).pipe(
            Effect.onInterrupt(() =>
              Effect.suspend(() => {
                const at = waiting.indexOf(waiter)
                if (at >= 0) {
                  waiting.splice(at, 1)
                  return announceAll()
                }
                // granted just before the interruption: hand the slot on
                return release
              })
            )
          )
        })
      )

    const run = <A, E, R>(onPosition: (ahead: number) => Effect.Effect<void>, effect: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(acquire(onPosition), () => effect, () => release)

    const snapshot = Effect.sync(() => ({ running, waiting: waiting.length }))
    return { run, snapshot }
  })
