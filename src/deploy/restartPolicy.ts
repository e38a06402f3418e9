/**
 * Crash restarts back off exponentially: the n-th consecutive crash waits
 * `base · 2^(n-1)`, capped; a replica that stayed up for `resetAfterMs`
 * before it crashed starts the count over.
 */
export interface RestartPolicy {
  readonly baseMs: number
  readonly capMs: number
  readonly resetAfterMs: number
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { baseMs: 1_000, capMs: 5 * 60_000, resetAfterMs: 10 * 60_000 }

/** Consecutive crashes after one more crash of a replica that ran `upMs`. */
export const nextCrashCount = (policy: RestartPolicy, previous: number, upMs: number): number =>
  upMs >= policy.resetAfterMs ? 1 : previous + 1

/** Delay before the restart that follows the `crashes`-th consecutive crash (crashes ≥ 1). */
export const restartDelayMs = (policy: RestartPolicy, crashes: number): number => {
  const exponent = Math.max(0, Math.min(crashes - 1, 30))
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent)
}

/** `850 ms`, `4 s`, `2 min 30 s`. */
export const formatDuration = (ms: number): string => {
  if (ms < 1_000) return `${Math.round(ms)} ms`
  const s = Math.round(ms / 1_000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`
}
