/**
 * Deploy and lifecycle buttons, each enabled only when the service's state
 * allows it (Start when stopped or failed, Stop while something runs, …); a
 * started deployment opens its log.
 */
import { useNavigate } from "@solidjs/router"
import { type Component, createSignal, For, Show } from "solid-js"
import { type ServiceAction, useDeleteService, useServiceAction } from "../../api/queries.js"
import { LiveLog } from "../../components/LiveLog.js"
import { FormError } from "../../components/States.js"
import { allowedActions } from "../../lib/serviceState.js"
import type { SectionProps } from "./section.js"

const ACTIONS: ReadonlyArray<{ readonly action: ServiceAction; readonly label: string; readonly confirm?: string }> = [
  { action: "deploy", label: "Deploy" },
  { action: "restart", label: "Restart" },
  { action: "start", label: "Start" },
  { action: "stop", label: "Stop", confirm: "Stop every replica of this service?" },
  { action: "rollback", label: "Roll back", confirm: "Roll back to the previous deployment?" }
]

export const Actions: Component<SectionProps> = (props) => {
  const run = useServiceAction(() => props.service.id)
  const remove = useDeleteService()
  const navigate = useNavigate()
  const [done, setDone] = createSignal<string>()
  const allowed = () => allowedActions(props.view(), props.service)
  const del = () => {
    if (!window.confirm(`Delete ${props.service.name}? Its replicas are stopped first.`)) return
    remove.mutate(props.service.id, { onSuccess: () => navigate("/services", { replace: true }) })
  }
  const trigger = (a: (typeof ACTIONS)[number]) => {
    if (a.confirm !== undefined && !window.confirm(a.confirm)) return
    setDone(undefined)
    run.mutate(a.action, {
      onSuccess: (deployment) => {
        setDone(`${a.label}: accepted${deployment ? ` (deployment ${deployment.status})` : ""}.`)
        if (deployment) props.setOpenLog(deployment.id)
      }
    })
  }
  return (
    <div class="actions" role="group" aria-label="Service actions">
      <For each={ACTIONS}>
        {(a) => (
          <button
            type="button"
            class={a.action === "deploy" ? "btn btn-primary" : "btn"}
            disabled={run.isPending || !allowed()[a.action]}
            onClick={() => trigger(a)}
          >
            {a.label}
          </button>
        )}
      </For>
      <button type="button" class="btn btn-ghost btn-danger" disabled={remove.isPending} onClick={del}>
        Delete service
      </button>
      <Show when={done()}>
        <span role="status" class="muted">
          {done()}
        </span>
      </Show>
      <FormError message={run.error?.message ?? remove.error?.message} />
    </div>
  )
}

/** Recent output of the running replicas, then live. */
export const ServiceLog: Component<SectionProps> = (props) => {
  const [following, setFollowing] = createSignal(false)
  return (
    <>
      <button type="button" class="btn" aria-pressed={following()} onClick={() => setFollowing((f) => !f)}>
        {following() ? "Stop following" : "Follow service log"}
      </button>
      <Show when={following()}>
        <LiveLog path={`/v1/services/${props.service.id}/logs/stream?tail=200`} label="Service log" />
      </Show>
    </>
  )
}
