/** Services with their state, default URL and source. */
import { A } from "@solidjs/router"
import { Show } from "solid-js"
import { useProjects, useServices } from "../api/queries.js"
import { serviceUrl } from "../lib/format.js"
import { sourceSummary } from "../lib/source.js"
import { DataTable } from "./DataTable.js"
import { ServiceStatus } from "./ServiceStatus.js"
import { Empty, QueryList } from "./States.js"

export const ServiceTable = (props: { readonly projectId?: string; readonly showProject?: boolean }) => {
  const services = useServices(() => props.projectId)
  const projects = useProjects()
  const projectName = (id: string) => projects.data?.find((p) => p.id === id)?.name
  return (
    <QueryList
      query={services}
      loadingLabel="Loading services…"
      errorTitle="Could not load services"
      empty={
        <Empty title="No services yet">
          <p class="muted">
            <A href={props.projectId === undefined ? "/services/new" : `/services/new?project=${props.projectId}`}>Create a service</A>{" "}
            to run an image, a Git repository or an upload.
          </p>
        </Empty>
      }
    >
      {(list) => (
        <DataTable
          caption="Services"
          columns={["Name", props.showProject === true && "Project", "Status", "URL", "Source"]}
          items={list()}
          row={(s) => (
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
                <ServiceStatus service={s} />
              </td>
              <td>
                <Show when={s.port !== null} fallback={<span class="muted">worker</span>}>
                  <Show when={serviceUrl(s.name, projectName(s.projectId))} fallback={<span class="muted">…</span>}>
                    {(url) => (
                      <a href={url()} target="_blank" rel="noreferrer" class="mono">
                        {url()}
                      </a>
                    )}
                  </Show>
                </Show>
              </td>
              <td class="mono truncate">{sourceSummary(s.source, { project: projectName(s.projectId), service: s.name })}</td>
            </tr>
          )}
        />
      )}
    </QueryList>
  )
}
