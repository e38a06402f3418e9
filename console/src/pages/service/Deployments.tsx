/**
 * Deployments, newest first: the live one marked, what started each, its
 * restarts and why its workload last ended. The open deployment's log
 * follows live; when its stream ends the list and the service are refetched,
 * so "pending" turns into the final status at once.
 */
import { useQueryClient } from "@tanstack/solid-query"
import { type Component, Show } from "solid-js"
import { refreshAfterDeployment, useDeployments } from "../../api/queries.js"
import { DataTable } from "../../components/DataTable.js"
import { LiveLog } from "../../components/LiveLog.js"
import { StatusBadge } from "../../components/ServiceStatus.js"
import { Empty, QueryList } from "../../components/States.js"
import { buildLineClasses, queuedState } from "../../lib/buildLog.js"
import { formatTime } from "../../lib/format.js"
import type { SectionProps } from "./section.js"

export const Deployments: Component<SectionProps> = (props) => {
  const deployments = useDeployments(() => props.service.id)
  const qc = useQueryClient()
  const liveId = () => props.view()?.liveDeploymentId ?? props.service.promotedDeploymentId
  return (
    <>
      <QueryList
        query={deployments}
        loadingLabel="Loading deployments…"
        errorTitle="Could not load deployments"
        empty={
          <Empty title="No deployments yet">
            <p class="muted">Deployments of this service will be listed here, newest first.</p>
          </Empty>
        }
      >
        {(list) => (
          <DataTable
            caption="Deployments, newest first"
            columns={["Started", "Status", "Image", "Trigger", "Restarts", "Finished", props.canOperate && { label: "Log", hidden: true }]}
            items={list()}
            row={(d) => (
              <tr classList={{ selected: props.openLog() === d.id, live: liveId() === d.id }} data-deployment={d.id}>
                <td>{formatTime(d.createdAt)}</td>
                <td>
                  <StatusBadge status={d.status} />
                  <Show when={liveId() === d.id}>
                    {" "}
                    <span class="badge badge-live">live</span>
                  </Show>
                  <Show when={d.error}>
                    <div class="field-error">{d.error}</div>
                  </Show>
                  <Show when={d.lastExitReason}>
                    <div class="muted mono" title="Why its workload last ended">
                      last exit: {d.lastExitReason}
                    </div>
                  </Show>
                </td>
                <td class="mono truncate" title={d.imageDigest}>
                  {d.imageRef}
                </td>
                <td>{d.trigger ?? "—"}</td>
                <td>{d.restartCount ?? "—"}</td>
                <td>{formatTime(d.finishedAt)}</td>
                <Show when={props.canOperate}>
                  <td>
                    <button
                      type="button"
                      class="btn btn-ghost"
                      aria-pressed={props.openLog() === d.id}
                      onClick={() => props.setOpenLog(props.openLog() === d.id ? undefined : d.id)}
                    >
                      {props.openLog() === d.id ? "Hide log" : "Log"}
                    </button>
                  </td>
                </Show>
              </tr>
            )}
          />
        )}
      </QueryList>
      <Show when={props.openLog()}>
        {(id) => (
          <div class="deployment-log">
            <h3>Deployment log</h3>
            <LiveLog
              path={`/v1/deployments/${id()}/logs`}
              label="Deployment log"
              classify={buildLineClasses}
              banner={queuedState}
              onEnd={() => void refreshAfterDeployment(qc, props.service.id)}
            />
          </div>
        )}
      </Show>
    </>
  )
}
