/** Derives a service's live ServiceStatus from its deployments and what the coordinator runs. */
import type { Deployment } from "../domain/deployment.js"
import type { Service } from "../domain/service.js"
import type { ServiceStatus } from "../domain/serviceStatus.js"

/** The coordinator's view of the live deployment's crash history (in memory). */
export interface CrashView {
  /** Consecutive crashes without staying up for the reset window. */
  readonly crashes: number
  readonly lastExit: string | undefined
  /** Set while waiting to restart. */
  readonly nextRestartAt: Date | undefined
}

export interface StatusInputs {
  readonly service: Service
  readonly live: Deployment | undefined
  readonly latest: Deployment | undefined
  readonly readyReplicas: number
  readonly crash: CrashView | undefined
  readonly pendingChanges: boolean
}

const IN_FLIGHT = new Set(["pending", "building", "starting"])

/**
 * `crashloop`: the live deployment's workload exited on its own and no replica
 * is up again yet, or it crashed twice or more without staying up for the
 * reset window (flapping). Otherwise `running` with a ready replica; while the
 * live deployment is being (re)launched, `deploying`. Without a live
 * deployment: `deploying` (first deploy in flight), `failed` (the newest
 * failed), `stopped` (ran before), `never-deployed`.
 */
export const deriveStatus = (i: StatusInputs): ServiceStatus => {
  const base = {
    readyReplicas: i.readyReplicas,
    desiredReplicas: i.service.promotedDeploymentId === null ? 0 : 1,
    restarts: i.live?.restartCount ?? 0,
    liveDeploymentId: i.service.promotedDeploymentId,
    pendingChanges: i.pendingChanges,
    ...(i.live?.lastExitReason === undefined ? {} : { lastExit: i.live.lastExitReason })
  }
  if (i.service.promotedDeploymentId !== null) {
    const crashes = i.crash?.crashes ?? 0
    const crashloop = (crashes >= 1 && i.readyReplicas === 0) || crashes >= 2
    if (crashloop) {
      return {
        ...base,
        state: "crashloop",
        ...(i.crash?.lastExit === undefined ? {} : { lastExit: i.crash.lastExit }),
        ...(i.crash?.nextRestartAt === undefined ? {} : { nextRestartAt: i.crash.nextRestartAt.toISOString() })
      }
    }
    return { ...base, state: i.readyReplicas > 0 ? "running" : "deploying" }
  }
  if (i.latest === undefined) return { ...base, state: "never-deployed" }
  if (IN_FLIGHT.has(i.latest.status)) return { ...base, state: "deploying" }
  // nothing live: why the newest deployment failed is the reason to show (e.g. `workload exited (code 1): …`)
  if (i.latest.status === "failed") {
    return { ...base, state: "failed", ...(i.latest.error === undefined ? {} : { lastExit: i.latest.error }) }
  }
  return { ...base, state: "stopped" }
}
