/** The deployment health gate: HTTP GET of the service's health path over the replica's Unix socket. */
import { Effect } from "effect"
import { probeUnixHttp } from "../platform/unixHttpProbe.js"

export type Probe = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly reason: string }

/** One GET; 2xx and 3xx pass. A dropped connection keeps the socket error text (see failureMessages.ts). */
export const probeHealth = (socketPath: string, path: string, timeoutMs: number): Effect.Effect<Probe> =>
  probeUnixHttp({ socketPath, path, timeoutMs, userAgent: "denia-health" }).pipe(
    Effect.map((p): Probe =>
      !p.answered
        ? { ok: false, reason: p.reason }
        : p.status >= 200 && p.status < 400
        ? { ok: true, status: p.status }
        : { ok: false, reason: `status ${p.status}` }
    )
  )

/**
 * Probes until one passes or `timeoutMs` runs out. `onAttempt` sees every
 * failed attempt (for the deployment log). Returns the last failure reason.
 */
export const waitHealthy = (
  socketPath: string,
  path: string,
  timeoutMs: number,
  onAttempt: (attempt: number, reason: string) => Effect.Effect<void>
): Effect.Effect<{ readonly healthy: true; readonly status: number } | { readonly healthy: false; readonly reason: string }> =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    let attempt = 0
    let reason = "no attempt made"
    while (Date.now() < deadline) {
      attempt += 1
      const probe = yield* probeHealth(socketPath, path, Math.max(100, Math.min(5000, deadline - Date.now())))
      if (probe.ok) return { healthy: true as const, status: probe.status }
      reason = probe.reason
      yield* onAttempt(attempt, reason)
      // quick first retries (a fresh workload is usually seconds from listening, often milliseconds), then up to 1 s
      yield* Effect.sleep(Math.min(1000, 5 * 2 ** Math.min(attempt, 8), Math.max(0, deadline - Date.now())))
    }
    return { healthy: false as const, reason }
  })
