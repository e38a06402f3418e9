/**
 * One mutex per key, created on first use and released when nothing holds or
 * waits for it (an `RcMap` of one-permit semaphores): serializes work per
 * service, per repository… without a map that only ever grows.
 */
import { Effect, RcMap, Scope } from "effect"

export interface KeyedMutex<K> {
  /** Runs `effect` once no other effect holds the lock of `key`. */
  readonly withLock: (key: K) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Keys whose lock is held or waited for right now. */
  readonly activeKeys: Effect.Effect<ReadonlyArray<K>>
}

/** The locks live in the caller's scope; closing it interrupts waiters. */
export const makeKeyedMutex = <K>(): Effect.Effect<KeyedMutex<K>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const locks = yield* RcMap.make({ lookup: (_key: K) => Effect.makeSemaphore(1) })
    // A scope of its own holds the reference, so a scoped `effect` keeps the caller's scope.
    const withLock = (key: K) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        Scope.make(),
        (held) => RcMap.get(locks, key).pipe(Scope.extend(held), Effect.flatMap((lock) => lock.withPermits(1)(effect))),
        (held, exit) => Scope.close(held, exit)
      )
    return { withLock, activeKeys: RcMap.keys(locks) }
  })
