/**
 * The one shape of a background loop (GC, renewals, sweeps, resyncs): run
 * `task` on `schedule` in a fiber of the caller's scope, one span per tick,
 * a failed tick logged with its cause and the loop going on. `wake` lets an
 * event run the next tick early (a sliding queue of one, so bursts coalesce).
 */
import { Duration, Effect, Option, Queue, Schedule, type Scope } from "effect"

export interface PeriodicOptions<R> {
  readonly name: string
  /** Time between the end of one tick and the start of the next. */
  readonly every: Duration.DurationInput
  readonly task: Effect.Effect<unknown, unknown, R>
  /** Run a first tick at once instead of after `every`. */
  readonly immediate?: boolean
}

export interface PeriodicHandle {
  /** Runs the next tick now (or as soon as the current one ends). */
  readonly wake: Effect.Effect<void>
}

export const periodic = <R>(options: PeriodicOptions<R>): Effect.Effect<PeriodicHandle, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const wakeUp = yield* Queue.sliding<void>(1)
    const tick = options.task.pipe(
      Effect.catchAllCause((cause) => Effect.logWarning(`${options.name} failed; retrying next period`, cause)),
      Effect.withSpan(`periodic.${options.name}`)
    )
    const pause = Effect.race(Queue.take(wakeUp), Effect.sleep(options.every))
    const loop = options.immediate === true
      ? Effect.zipRight(tick, pause).pipe(Effect.repeat(Schedule.forever))
      : Effect.zipRight(pause, tick).pipe(Effect.repeat(Schedule.forever))
    yield* Effect.forkScoped(loop)
    return { wake: Queue.offer(wakeUp, undefined).pipe(Effect.asVoid) }
  })

/** `every` from a config value in hours/minutes where 0 means "off". */
export const intervalOrOff = (value: number, unit: "hours" | "minutes"): Option.Option<Duration.Duration> =>
  value > 0 ? Option.some(unit === "hours" ? Duration.hours(value) : Duration.minutes(value)) : Option.none()
