/** The service's facts: state (with why it crashes), URL, project, source, port, health, limits, scaling. */
import { A } from "@solidjs/router"
import { type Component, For, Show } from "solid-js"
import { describeCapabilities } from "../../../../src/domain/capabilities.js"
import { describeHealth } from "../../../../src/domain/service.js"
import { useProject } from "../../api/queries.js"
import { DataTable } from "../../components/DataTable.js"
import { StateBadge } from "../../components/ServiceStatus.js"
import { formatTime, serviceUrl } from "../../lib/format.js"
import { sourceSummary } from "../../lib/source.js"
import type { SectionProps } from "./section.js"

export const Overview: Component<SectionProps> = (props) => {
  const project = useProject(() => props.service.projectId)
  const url = () => serviceUrl(props.service.name, project.data?.name)
  const limits = () => props.service.limits
  return (
    <dl class="facts">
      <dt>Status</dt>
      <dd>
        <StateBadge view={props.view()} />
        <Show when={props.view()?.restarts}>{(n) => <span class="muted">· {n()} restart{n() === 1 ? "" : "s"}</span>}</Show>
      </dd>
      <Show when={props.view()?.lastExit}>
        {(reason) => (
          <>
            <dt>Last exit</dt>
            <dd class="mono wrap" classList={{ "field-error": props.view()?.state === "crashloop" }}>
              {reason()}
              <Show when={props.view()?.nextRestartAt}>{(at) => <span class="muted">(next restart {formatTime(at())})</span>}</Show>
            </dd>
          </>
        )}
      </Show>
      <dt>URL</dt>
      <dd>
        <Show when={props.service.port !== null} fallback={<span class="muted">none (worker)</span>}>
          <Show when={url()} fallback="…">
            {(u) => (
              <a href={u()} target="_blank" rel="noreferrer" class="mono wrap">
                {u()}
              </a>
            )}
          </Show>
        </Show>
      </dd>
      <dt>Project</dt>
      <dd>
        <A href={`/projects/${props.service.projectId}`}>{project.data?.name ?? "…"}</A>
      </dd>
      <dt>Source</dt>
      <dd class="mono wrap">{sourceSummary(props.service.source, { project: project.data?.name, service: props.service.name })}</dd>
      <dt>Port</dt>
      <dd>{props.service.port === null ? "none (worker: no route, no PORT)" : props.service.port}</dd>
      <dt>Public ports</dt>
      <dd class="mono">
        <Show when={props.service.endpoints.length > 0} fallback={<span class="muted">none</span>}>
          <For each={props.service.endpoints}>
            {(e) => (
              <div>
                {e.protocol} {e.port} → {e.publicPort === undefined ? "not allocated" : `${window.location.hostname}:${e.publicPort}`}
              </div>
            )}
          </For>
        </Show>
      </dd>
      <Show when={props.service.status?.network}>
        {(n) => (
          <>
            <dt>Network</dt>
            <dd class="mono wrap">{n()}</dd>
          </>
        )}
      </Show>
      <dt>Health check</dt>
      <dd class="mono">{describeHealth(props.service.health)}</dd>
      <dt>Capabilities</dt>
      <dd class="mono">{describeCapabilities(props.service.capabilities)}</dd>
      <dt>/dev/shm</dt>
      <dd>{props.service.shmMb} MiB</dd>
      <dt>Limits</dt>
      <dd>
        {limits() === null
          ? "project or node defaults"
          : [
            limits()?.cpuMillis === undefined ? undefined : `${limits()?.cpuMillis}m CPU`,
            limits()?.memoryMb === undefined ? undefined : `${limits()?.memoryMb} MB`,
            limits()?.pids === undefined ? undefined : `${limits()?.pids} pids`
          ]
            .filter((x) => x !== undefined)
            .join(", ")}
      </dd>
      <dt>Scaling</dt>
      <dd>
        {props.service.autoscale === null
          ? "1 replica"
          : `${props.service.autoscale.minReplicas}–${props.service.autoscale.maxReplicas} replicas (autoscaled)`}
      </dd>
      <dt>TLS</dt>
      <dd>{props.service.tlsEnabled ? "on" : "off"}</dd>
      <Show when={props.service.endpoints.length > 0}>
        <dt>Endpoints</dt>
        <dd>{props.service.endpoints.map((e) => `${e.protocol}/${e.port}`).join(", ")}</dd>
      </Show>
      <dt>Updated</dt>
      <dd>{formatTime(props.service.updatedAt)}</dd>
    </dl>
  )
}

export const Environment: Component<SectionProps> = (props) => (
  <Show
    when={Object.keys(props.service.env).length > 0}
    fallback={<p class="muted">No service variables (the project's shared env still applies).</p>}
  >
    <EnvTable env={props.service.env} />
  </Show>
)

const EnvTable = (props: { readonly env: Readonly<Record<string, string>> }) => (
  <DataTable
    caption="Environment variables"
    class="kv-table"
    columns={["Name", "Value"]}
    items={Object.entries(props.env)}
    row={([k, v]) => (
      <tr>
        <td class="mono">{k}</td>
        <td class="mono truncate">{v}</td>
      </tr>
    )}
  />
)
