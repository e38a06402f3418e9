/**
 * A small pool of ready network namespaces (namespace, veth on the bridge,
 * address, routes, `lo` up, anti-spoofing chain, lease recorded), so a
 * replica start only has to claim one (ADR 0705). `take` is synchronous and
 * never waits: an empty pool means the caller builds a namespace itself. A
 * background fiber refills the pool after `refillDelayMs` (off the CPU of the
 * start that just took one); a failed build is logged and retried after a
 * pause, never in a tight loop. Closing the scope discards what is left.
 * A pooled namespace belongs to no project: it is in no member set and the
 * forward chain drops what it sends to other replicas.
 */
import { Duration, Effect, Queue, type Scope } from "effect"
import type { ReplicaLink } from "./hostNetwork.js"

export interface NamespacePool {
  /** A ready namespace, or undefined when the pool is empty (or disabled); schedules a refill. */
  readonly take: Effect.Effect<ReplicaLink | undefined>
  /** How many namespaces are ready now. */
  readonly ready: Effect.Effect<number>
}

export interface PoolOptions<E> {
  /** 0 disables the pool. */
  readonly size: number
  readonly refillDelayMs: number
  /** Builds one namespace (leased, on the bridge, with its rules); uninterruptible while it runs. */
  readonly create: Effect.Effect<ReplicaLink, E>
  /** Removes namespaces that were never taken. */
  readonly discard: (links: ReadonlyArray<ReplicaLink>) => Effect.Effect<void>
}

const RETRY_AFTER = Duration.seconds(10)

export const makeNamespacePool = <E>(options: PoolOptions<E>): Effect.Effect<NamespacePool, never, Scope.Scope> =>
  Effect.gen(function*() {
    const ready: Array<ReplicaLink> = []
    if (options.size <= 0) return { take: Effect.succeed(undefined), ready: Effect.succeed(0) }
    const wake = yield* Queue.sliding<void>(1)

    const fill = Effect.gen(function*() {
      while (ready.length < options.size) {
        const built = yield* Effect.uninterruptible(Effect.either(options.create))
        if (built._tag === "Left") {
          yield* Effect.logWarning("network: building a pooled namespace failed; retrying later", built.left)
          yield* Effect.sleep(RETRY_AFTER)
          continue
        }
        ready.push(built.right)
      }
    })

    // Registered before the fiber is forked, so it runs after the fiber is interrupted (and after a build in flight ends).
    yield* Effect.addFinalizer(() => Effect.suspend(() => options.discard(ready.splice(0))))
    yield* Queue.take(wake).pipe(
      Effect.zipRight(Effect.sleep(Duration.millis(options.refillDelayMs))),
      Effect.zipRight(fill),
      Effect.forever,
      Effect.forkScoped
    )
    yield* Queue.offer(wake, undefined)

    return {
      take: Effect.suspend(() => {
        const link = ready.shift()
        return Effect.as(Queue.offer(wake, undefined), link)
      }),
      ready: Effect.sync(() => ready.length)
    } satisfies NamespacePool
  })
