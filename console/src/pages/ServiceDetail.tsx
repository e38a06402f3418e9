/**
 * One service: summary, configuration and deployments. The page is a list of
 * sections; sections for APIs that land later (deploy actions, live logs,
 * domains, metrics) are added to `SECTIONS` without touching the rest.
 */
import { A, useParams } from "@solidjs/router"
import { For, Match, Show, Switch, type Component } from "solid-js"
import type { Service } from "../../../src/domain/service.js"
import { useDeployments, useProject, useService } from "../api/queries.js"
import { ServiceStatus, StatusBadge, sourceSummary } from "../components/ServiceTable.js"
import { Empty, ErrorState, Loading } from "../components/States.js"
import { formatTime, serviceUrl } from "../lib/format.js"

interface Section {
  readonly id: string
  readonly title: string
  readonly component: Component<{ readonly service: Service }>
}

const Overview: Component<{ readonly service: Service }> = (props) => {
  const project = useProject(() => props.service.projectId)
  const url = () => serviceUrl(props.service.name, project.data?.name)
  const limits = () => props.service.limits
  return (
    <dl class="facts">
      <dt>Status</dt>
      <dd>
        <ServiceStatus serviceId={props.service.id} />
      </dd>
      <dt>URL</dt>
      <dd>
        <Show when={url()} fallback="…">
          {(u) => (
            <a href={u()} target="_blank" rel="noreferrer" class="mono">
              {u()}
            </a>
          )}
        </Show>
      </dd>
      <dt>Project</dt>
      <dd>
        <A href={`/projects/${props.service.projectId}`}>{project.data?.name ?? "…"}</A>
      </dd>
      <dt>Source</dt>
      <dd class="mono">
        {props.service.source.type}: {sourceSummary(props.service.source)}
      </dd>
      <dt>Port</dt>
      <dd>{props.service.port}</dd>
      <dt>Health check</dt>
      <dd class="mono">
        {props.service.health.path} ({props.service.health.timeoutSeconds}s)
      </dd>
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
      <dd>{props.service.autoscale === null ? "1 replica" : `${props.service.autoscale.minReplicas}–${props.service.autoscale.maxReplicas} replicas (autoscaled)`}</dd>
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

const Environment: Component<{ readonly service: Service }> = (props) => (
  <Show when={Object.keys(props.service.env).length > 0} fallback={<p class="muted">No service variables (the project's shared env still applies).</p>}>
    <table class="table kv-table">
      <caption class="sr-only">Environment variables</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        <For each={Object.entries(props.service.env)}>
          {([k, v]) => (
            <tr>
              <td class="mono">{k}</td>
              <td class="mono truncate">{v}</td>
            </tr>
          )}
        </For>
      </tbody>
    </table>
  </Show>
)

const Deployments: Component<{ readonly service: Service }> = (props) => {
  const deployments = useDeployments(() => props.service.id)
  return (
    <Switch>
      <Match when={deployments.isPending}>
        <Loading label="Loading deployments…" />
      </Match>
      <Match when={deployments.isError}>
        <ErrorState error={deployments.error} retry={() => void deployments.refetch()} title="Could not load deployments" />
      </Match>
      <Match when={deployments.data?.length === 0}>
        <Empty title="No deployments yet">
          <p class="muted">Deployments of this service will be listed here, newest first.</p>
        </Empty>
      </Match>
      <Match when={deployments.data}>
        {(list) => (
          <table class="table">
            <caption class="sr-only">Deployments, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Status</th>
                <th scope="col">Image</th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              <For each={list()}>
                {(d) => (
                  <tr>
                    <td>{formatTime(d.createdAt)}</td>
                    <td>
                      <StatusBadge status={d.status} />
                      <Show when={d.error}>
                        <div class="field-error">{d.error}</div>
                      </Show>
                    </td>
                    <td class="mono truncate" title={d.imageDigest}>
                      {d.imageRef}
                    </td>
                    <td>{formatTime(d.finishedAt)}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        )}
      </Match>
    </Switch>
  )
}

/** The detail page's sections, in order. */
export const SECTIONS: ReadonlyArray<Section> = [
  { id: "overview", title: "Overview", component: Overview },
  { id: "deployments", title: "Deployments", component: Deployments },
  { id: "environment", title: "Environment", component: Environment }
]

export default function ServiceDetail() {
  const params = useParams<{ id: string }>()
  const service = useService(() => params.id)
  return (
    <Switch>
      <Match when={service.isPending}>
        <Loading label="Loading service…" />
      </Match>
      <Match when={service.isError}>
        <ErrorState error={service.error} retry={() => void service.refetch()} title="Could not load the service" />
      </Match>
      <Match when={service.data}>
        {(s) => (
          <section aria-labelledby="service-title">
            <nav aria-label="Breadcrumb" class="crumbs">
              <A href="/services">Services</A> <span aria-hidden="true">/</span>
            </nav>
            <header class="page-head">
              <h1 id="service-title">{s().name}</h1>
              <div class="actions">
                <A class="btn" href={`/services/${s().id}/edit`}>
                  Edit
                </A>
              </div>
            </header>
            <nav class="section-tabs" aria-label="Sections">
              <For each={SECTIONS}>
                {(sec) => (
                  <a
                    href={`#${sec.id}`}
                    onClick={(e) => {
                      e.preventDefault()
                      document.getElementById(sec.id)?.scrollIntoView({ block: "start" })
                    }}
                  >
                    {sec.title}
                  </a>
                )}
              </For>
            </nav>
            <For each={SECTIONS}>
              {(sec) => (
                <div class="card" id={sec.id} role="region" aria-labelledby={`${sec.id}-title`}>
                  <h2 id={`${sec.id}-title`}>{sec.title}</h2>
                  <sec.component service={s()} />
                </div>
              )}
            </For>
          </section>
        )}
      </Match>
    </Switch>
  )
}
