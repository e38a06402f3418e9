/**
 * The deployment health gate over the replica's Unix socket: an HTTP GET of
 * the health path (`http`), a connection accepted on the port (`tcp`, see
 * tcpProbe.ts), or for workers the process still running after the settle
 * time (`running`, decided in replicaSet.ts against the workload's exit).
 */
import { Effect } from "effect"
import { probeUnixHttp } from "../platform/unixHttpProbe.js"
import { probeTcpThroughRelay } from "./tcpProbe.js"

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

/** One TCP check through the relay; `status` 0 stands for "connected" (no protocol status). */
export const probeTcp = (socketPath: string, port: number, timeoutMs: number): Effect.Effect<Probe> =>
  Effect.map(probeTcpThroughRelay(socketPath, timeoutMs), (p): Probe =>
    p.ok
      ? { ok: true, status: 0 }
      : p.kind === "refused"
      ? { ok: false, reason: `nothing accepts connections on port ${port} inside the replica` }
      : p.kind === "unreachable"
      ? { ok: false, reason: "the replica is not accepting connections" }
      : { ok: false, reason: `port ${port} accepted but ${p.reason}` })

/** How long the first probes stay at most this far apart: a fresh workload usually listens within it. */
export const FAST_PROBE_WINDOW_MS = 10_000

/**
 * The pause after failed attempt `attempt` (1-based), `elapsedMs` into the gate: doubling from 10 ms and
 * at most 100 ms apart during the first 10 s (a typical app starts listening within a second, and every
 * pause is time to healthy lost), then once a second.
 */
export const probeDelayMs = (attempt: number, elapsedMs: number): number =>
  Math.min(elapsedMs < FAST_PROBE_WINDOW_MS ? 100 : 1000, 5 * 2 ** Math.min(Math.max(attempt, 1), 10))

/**
 * Runs `probe` (given the time left for one attempt) until one passes or
 * `timeoutMs` runs out. `onAttempt` sees every failed attempt (for the
 * deployment log). Returns the last failure reason.
 */
export const waitHealthy = (
  probe: (attemptTimeoutMs: number) => Effect.Effect<Probe>,
  timeoutMs: number,
  onAttempt: (attempt: number, reason: string) => Effect.Effect<void>
): Effect.Effect<{ readonly healthy: true; readonly status: number } | { readonly healthy: false; readonly reason: string }> =>
  Effect.gen(function*() {
    const started = Date.now()
    const deadline = started + timeoutMs
    let attempt = 0
    let reason = "no attempt made"
    while (Date.now() < deadline) {
      attempt += 1
      const result = yield* probe(Math.max(100, Math.min(5000, deadline - Date.now())))
      if (result.ok) return { healthy: true as const, status: result.status }
      reason = result.reason
      yield* onAttempt(attempt, reason)
      yield* Effect.sleep(Math.min(probeDelayMs(attempt, Date.now() - started), Math.max(0, deadline - Date.now())))
    }
    return { healthy: false as const, reason }
  })
