/**
 * One service: deploy and lifecycle actions, a banner when its spec changed
 * since the live deployment (or it is crash-looping), then a list of
 * sections (`SECTIONS`: overview, deployments with live logs, service log,
 * domains, secrets, volumes, environment; Git or stored uploads by source). Later sections are added there without
 * touching the rest.
 */
import { A, useParams } from "@solidjs/router"
import { createMemo, createSignal, For, Match, Show, Switch } from "solid-js"
import type { Service } from "../../../src/domain/service.js"
import { useMe, useService, useServiceAction } from "../api/queries.js"
import { useServiceView } from "../components/ServiceStatus.js"
import { ErrorState, FormError, Loading } from "../components/States.js"
import { Actions, ServiceLog } from "./service/Actions.js"
import { Deployments } from "./service/Deployments.js"
import { Domains } from "./service/Domains.js"
import { Git } from "./service/Git.js"
import { Environment, Overview } from "./service/Overview.js"
import { Secrets } from "./service/Secrets.js"
import type { Section } from "./service/section.js"
import { Uploads } from "./service/Uploads.js"
import { Volumes } from "./service/Volumes.js"

/** The detail page's sections, in order. */
export const SECTIONS: ReadonlyArray<Section> = [
  { id: "overview", title: "Overview", component: Overview },
  { id: "deployments", title: "Deployments", component: Deployments },
  { id: "service-log", title: "Service log", operatorOnly: true, component: ServiceLog },
  { id: "domains", title: "Domains", component: Domains },
  { id: "secrets", title: "Secrets", operatorOnly: true, component: Secrets },
  { id: "volumes", title: "Volumes", component: Volumes },
  { id: "environment", title: "Environment", component: Environment },
  { id: "git", title: "Git", when: (s) => s.source.type === "git", component: Git },
  { id: "uploads", title: "Uploads", when: (s) => s.source.type === "upload", component: Uploads }
]

/** Operator or admin in the service's project, or a super-admin. */
export const useCanOperate = (projectId: () => string | undefined) => {
  const me = useMe()
  return createMemo(() => {
    const data = me.data
    if (data === undefined) return false
    if (data.superAdmin) return true
    const m = data.memberships.find((x) => x.projectId === projectId())
    return m !== undefined && m.role !== "viewer"
  })
}

/** "Pending changes — redeploy": the spec (env, secrets, source…) changed after the live deployment was made. */
export const PendingChangesBanner = (
  props: { readonly service: Service; readonly canOperate: boolean; readonly onDeployed?: (id: string) => void }
) => {
  const run = useServiceAction(() => props.service.id)
  return (
    <Show when={props.service.status?.pendingChanges === true}>
      <div class="banner banner-warn" role="status" aria-label="Pending changes">
        <span>
          <strong>Pending changes — redeploy</strong> to apply them: the live deployment was made before the service last changed.
        </span>
        <Show when={props.canOperate}>
          <button
            type="button"
            class="btn btn-primary"
            disabled={run.isPending}
            onClick={() => run.mutate("deploy", { onSuccess: (d) => d && props.onDeployed?.(d.id) })}
          >
            Redeploy
          </button>
        </Show>
        <FormError message={run.error?.message} />
      </div>
    </Show>
  )
}

const ServicePage = (props: { readonly service: Service }) => {
  const canOperate = useCanOperate(() => props.service.projectId)
  const view = useServiceView(() => props.service)
  const [openLog, setOpenLog] = createSignal<string>()
  const sections = () =>
    SECTIONS.filter((sec) => (canOperate() || sec.operatorOnly !== true) && (sec.when === undefined || sec.when(props.service)))
  const sectionProps = () => ({ service: props.service, view, canOperate: canOperate(), openLog, setOpenLog })
  return (
    <section aria-labelledby="service-title">
      <nav aria-label="Breadcrumb" class="crumbs">
        <A href="/services">Services</A> <span aria-hidden="true">/</span>
      </nav>
      <header class="page-head">
        <h1 id="service-title">{props.service.name}</h1>
        <Show when={canOperate()}>
          <A class="btn" href={`/services/${props.service.id}/edit`}>
            Edit
          </A>
        </Show>
      </header>
      <PendingChangesBanner service={props.service} canOperate={canOperate()} onDeployed={setOpenLog} />
      <Show when={view()?.state === "crashloop"}>
        <div class="banner banner-danger" role="alert">
          <strong>Crash loop</strong>
          <span class="mono wrap">{view()?.lastExit ?? "the workload keeps exiting"}</span>
        </div>
      </Show>
      <Show when={canOperate()}>
        <Actions {...sectionProps()} />
      </Show>
      <nav class="section-tabs" aria-label="Sections">
        <For each={sections()}>
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
      <For each={sections()}>
        {(sec) => (
          <div class="card" id={sec.id} role="region" aria-labelledby={`${sec.id}-title`}>
            <h2 id={`${sec.id}-title`}>{sec.title}</h2>
            <sec.component {...sectionProps()} />
          </div>
        )}
      </For>
    </section>
  )
}

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
      <Match when={service.data}>{(s) => <ServicePage service={s()} />}</Match>
    </Switch>
  )
}
