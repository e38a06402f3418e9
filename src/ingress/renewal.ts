/** When a certificate should be (re)ordered: missing or within 30 days of expiry, and not backing off. */

export const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000
const BACKOFF_BASE_MS = 60_000
const BACKOFF_MAX_MS = 24 * 3600_000

export interface FailureState {
  readonly at: number
  readonly attempts: number
}

/** 1 min after the first failure, doubling, at most a day. */
export const backoffMs = (attempts: number): number =>
  Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(Math.max(attempts - 1, 0), 20))

export const certificateDue = (notAfter: Date | undefined, failure: FailureState | undefined, now: number): boolean => {
  if (notAfter !== undefined && notAfter.getTime() - now > RENEW_BEFORE_MS) return false
  return failure === undefined || now - failure.at >= backoffMs(failure.attempts)
}
