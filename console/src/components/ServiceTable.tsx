/** Services with their status (latest deployment) and default URL. */
import { A } from "@solidjs/router"
import { For, Match, Show, Switch } from "solid-js"
import type { Service } from "../../../src/domain/service.js"
import { useDeployments, useProjects, useServices } from "../api/queries.js"
import { serviceUrl } from "../lib/format.js"
import { Empty, QueryList } from "./States.js"

export const StatusBadge = (props: { readonly status: string }) => (
  <span class={`status status-${props.status.replace(/\s+/g, "-")}`}>{props.status}</span>
)

export const ServiceStatus = (props: { readonly serviceId: string }) => {
  const deployments = useDeployments(() => props.serviceId)
  return (
    <Switch fallback={<StatusBadge status="not deployed" />}>
      <Match when={deployments.isPending}>
        <span class="muted">…</span>
      </Match>
      <Match when={deployments.isError}>
        <span class="muted" title={deployments.error?.message}>
          unknown
        </span>
      </Match>
      <Match when={deployments.data?.[0]}>{(d) => <StatusBadge status={d().status} />}</Match>
    </Switch>
  )
}

export const sourceSummary = (s: Service["source"]): string => {
  switch (s.type) {
    case "image":
      return s.image
    case "hosted":
      return `hosted :${s.tag}`
    case "git":
      return `git ${s.url}#${s.ref}`
    case "upload":
      return `upload (${s.dockerfile})`
  }
}

export const ServiceTable = (props: { readonly projectId?: string; readonly showProject?: boolean }) => {
  const services = useServices(() => props.projectId)
  const projects = useProjects()
  const projectName = (id: string) => projects.data?.find((p) => p.id === id)?.name
  return (
    <QueryList query={services} loadingLabel="Loading services…" errorTitle="Could not load services" empty={<>
        <Empty title="No services yet">
          <p class="muted">
            <A href={props.projectId === undefined ? "/services/new" : `/services/new?project=${props.projectId}`}>Create a service</A> to run an image,
            a Git repository or an upload.
          </p>
        </Empty>
    </>}>
      {(list) => (
          <table class="table">
            <caption class="sr-only">Services</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <Show when={props.showProject}>
                  <th scope="col">Project</th>
                </Show>
                <th scope="col">Status</th>
                <th scope="col">URL</th>
                <th scope="col">Source</th>
              </tr>
            </thead>
            <tbody>
              <For each={list()}>
                {(s) => (
                  <tr data-service={s.name}>
                    <td>
                      <A href={`/services/${s.id}`}>{s.name}</A>
                    </td>
                    <Show when={props.showProject}>
                      <td>
                        <A href={`/projects/${s.projectId}`}>{projectName(s.projectId) ?? "…"}</A>
                      </td>
                    </Show>
                    <td>
                      <ServiceStatus serviceId={s.id} />
                    </td>
                    <td>
                      <Show when={serviceUrl(s.name, projectName(s.projectId))} fallback={<span class="muted">…</span>}>
                        {(url) => (
                          <a href={url()} target="_blank" rel="noreferrer" class="mono">
                            {url()}
                          </a>
                        )}
                      </Show>
                    </td>
                    <td class="mono truncate">{sourceSummary(s.source)}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        )}
    </QueryList>
  )
}
