/**
 * What a service is doing, for display and for which lifecycle buttons make
 * sense. The daemon reports it as `service.status`; a daemon that does not
 * (yet) is read from what every version returns: the promoted deployment is
 * the live one, and the newest deployment tells in-flight, failed or stopped.
 */
import { type Deployment, TERMINAL_STATUSES } from "../../../src/domain/deployment.js"
import type { Service } from "../../../src/domain/service.js"
import type { ServiceState } from "../../../src/domain/serviceStatus.js"

export interface ServiceView {
  readonly state: ServiceState
  readonly liveDeploymentId: string | null
  /** Known only when the daemon reports status. */
  readonly replicas: { readonly ready: number; readonly desired: number } | undefined
  readonly restarts: number
  readonly lastExit: string | undefined
  readonly nextRestartAt: string | undefined
  readonly pendingChanges: boolean
  /** Whether any deployment ever ran (Start relaunches the last one that did); unknown until the deployments load. */
  readonly everRan: boolean | undefined
  /** True when derived from deployments because the daemon sent no `status`. */
  readonly derived: boolean
}

type ServiceLike = Pick<Service, "promotedDeploymentId" | "status">

/** `deployments` newest first; `undefined` while they are loading (then a derived state is not known yet). */
export const serviceView = (service: ServiceLike, deployments: ReadonlyArray<Deployment> | undefined): ServiceView | undefined => {
  // Healthy now, or stopped after having been live.
  const everRan = deployments?.some((d) => d.status === "healthy" || d.status === "stopped")
  const s = service.status
  if (s !== undefined) {
    return {
      state: s.state,
      liveDeploymentId: s.liveDeploymentId,
      replicas: { ready: s.readyReplicas, desired: s.desiredReplicas },
      restarts: s.restarts,
      lastExit: s.lastExit,
      nextRestartAt: s.nextRestartAt,
      pendingChanges: s.pendingChanges,
      everRan,
      derived: false
    }
  }
  if (deployments === undefined) return undefined
  const live = service.promotedDeploymentId
  const newest = deployments[0]
  const liveRow = live === null ? undefined : deployments.find((d) => d.id === live)
  const state: ServiceState = newest === undefined
    ? "never-deployed"
    : live !== null
    ? "running"
    : !TERMINAL_STATUSES.has(newest.status)
    ? "deploying"
    : newest.status === "failed"
    ? "failed"
    : "stopped"
  return {
    state,
    liveDeploymentId: live,
    replicas: undefined,
    restarts: liveRow?.restartCount ?? 0,
    lastExit: liveRow?.lastExitReason ?? (state === "failed" ? newest?.error : undefined),
    nextRestartAt: undefined,
    pendingChanges: false,
    everRan,
    derived: true
  }
}

/** `running 2/2`, `never deployed`, `crashloop`, … */
export const stateLabel = (v: ServiceView): string => {
  if (v.state === "running" && v.replicas !== undefined) return `running ${v.replicas.ready}/${v.replicas.desired}`
  return v.state === "never-deployed" ? "never deployed" : v.state
}

/** Which lifecycle actions the current state allows (the API would refuse the others with 409). */
export const allowedActions = (v: ServiceView | undefined, service: Pick<Service, "previousDeploymentId">) => {
  const state = v?.state
  return {
    deploy: true,
    // Something is (or is about to be) running.
    stop: state === "running" || state === "crashloop" || state === "deploying",
    // Brings the last good deployment back; needs one to have existed.
    start: (state === "stopped" || state === "failed") && v?.everRan !== false,
    restart: state === "running" || state === "crashloop",
    rollback: service.previousDeploymentId !== null && state !== undefined
  }
}
