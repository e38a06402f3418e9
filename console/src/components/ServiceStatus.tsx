/** Status badges: a deployment's status, and a service's state (from `service.status`, or derived from its deployments). */
import { Show } from "solid-js"
import type { Service } from "../../../src/domain/service.js"
import { useDeployments } from "../api/queries.js"
import { type ServiceView, serviceView, stateLabel } from "../lib/serviceState.js"

const TONE: Readonly<Record<string, string>> = {
  running: "healthy",
  crashloop: "failed",
  failed: "failed",
  deploying: "starting",
  stopped: "stopped",
  "never-deployed": "stopped"
}

export const StatusBadge = (props: { readonly status: string; readonly tone?: string | undefined }) => (
  <span class={`status status-${(props.tone ?? props.status).replace(/\s+/g, "-")}`}>{props.status}</span>
)

/** Fetches the deployments only when the daemon did not send `status`. */
export const useServiceView = (service: () => Pick<Service, "id" | "promotedDeploymentId" | "status">) => {
  const deployments = useDeployments(
    () => service().id,
    () => service().status === undefined
  )
  return () => serviceView(service(), deployments.data)
}

export const StateBadge = (props: { readonly view: ServiceView | undefined; readonly detail?: boolean }) => (
  <Show when={props.view} fallback={<span class="muted">…</span>}>
    {(v) => (
      <span class="state-badge" title={v().state === "crashloop" ? v().lastExit : undefined}>
        <StatusBadge status={stateLabel(v())} tone={TONE[v().state]} />
        <Show when={props.detail === true && v().state === "crashloop" && v().lastExit}>
          {(reason) => <span class="field-error crash-reason">{reason()}</span>}
        </Show>
      </span>
    )}
  </Show>
)

export const ServiceStatus = (
  props: { readonly service: Pick<Service, "id" | "promotedDeploymentId" | "status">; readonly detail?: boolean }
) => {
  const view = useServiceView(() => props.service)
  return <StateBadge view={view()} detail={props.detail ?? false} />
}
