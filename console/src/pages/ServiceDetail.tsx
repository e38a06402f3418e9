/**
 * One service: deploy and lifecycle actions, summary, deployments with their
 * live logs, the live service log, domains and environment. The page is a
 * list of sections (`SECTIONS`); later ones (metrics, autoscaling, console
 * terminal) are added there without touching the rest.
 */
import { A, useNavigate, useParams } from "@solidjs/router"
import { For, Match, Show, Switch, createMemo, createSignal, type Accessor, type Component, type Setter } from "solid-js"
import type { Service } from "../../../src/domain/service.js"
import { issuesByField } from "../api/failure.js"
import { useDeleteService, useDeployments, useDomainMutations, useDomains, useMe, useProject, useService, useServiceAction, type ServiceAction } from "../api/queries.js"
import { TextField } from "../components/Field.js"
import { LiveLog } from "../components/LiveLog.js"
import { ServiceStatus, StatusBadge, sourceSummary } from "../components/ServiceTable.js"
import { Empty, ErrorState, FormError, Loading, QueryList } from "../components/States.js"
import { formatTime, serviceUrl } from "../lib/format.js"

/** What every section gets: the service, whether the user may operate it, and the deployment whose log is open. */
interface SectionProps {
  readonly service: Service
  readonly canOperate: boolean
  readonly openLog: Accessor<string | undefined>
  readonly setOpenLog: Setter<string | undefined>
}

interface Section {
  readonly id: string
  readonly title: string
  /** Shown only to operators (the API would refuse viewers anyway). */
  readonly operatorOnly?: boolean
  readonly component: Component<SectionProps>
}

const Overview: Component<SectionProps> = (props) => {
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

const Environment: Component<SectionProps> = (props) => (
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

const Deployments: Component<SectionProps> = (props) => {
  const deployments = useDeployments(() => props.service.id)
  return (
    <>
    <QueryList query={deployments} loadingLabel="Loading deployments…" errorTitle="Could not load deployments" empty={<>
        <Empty title="No deployments yet">
          <p class="muted">Deployments of this service will be listed here, newest first.</p>
        </Empty>
    </>}>
      {(list) => (
          <table class="table">
            <caption class="sr-only">Deployments, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Status</th>
                <th scope="col">Image</th>
                <th scope="col">Finished</th>
                <Show when={props.canOperate}>
                  <th scope="col">
                    <span class="sr-only">Log</span>
                  </th>
                </Show>
              </tr>
            </thead>
            <tbody>
              <For each={list()}>
                {(d) => (
                  <tr classList={{ selected: props.openLog() === d.id }}>
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
              </For>
            </tbody>
          </table>
        )}
    </QueryList>
    <Show when={props.openLog()}>
      {(id) => (
        <div class="deployment-log">
          <h3>Deployment log</h3>
          <LiveLog path={`/v1/deployments/${id()}/logs`} label="Deployment log" />
        </div>
      )}
    </Show>
    </>
  )
}

/** Recent output of the running replicas, then live. */
const ServiceLog: Component<SectionProps> = (props) => {
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

/** Custom domains: attach, verify (HTTP challenge), remove. */
const Domains: Component<SectionProps> = (props) => {
  const domains = useDomains(() => props.service.id)
  const m = useDomainMutations(() => props.service.id)
  const [hostname, setHostname] = createSignal("")
  const attachIssues = () => issuesByField(m.attach.error ?? undefined)
  return (
    <>
      <QueryList query={domains} loadingLabel="Loading domains…" empty={<>
          <p class="muted">No custom domains. The service answers at its default URL.</p>
      </>}>
        {(list) => (
            <table class="table">
              <caption class="sr-only">Domains</caption>
              <thead>
                <tr>
                  <th scope="col">Hostname</th>
                  <th scope="col">Status</th>
                  <th scope="col">Certificate</th>
                  <Show when={props.canOperate}>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </Show>
                </tr>
              </thead>
              <tbody>
                <For each={list()}>
                  {(d) => (
                    <tr>
                      <td class="mono">{d.hostname}</td>
                      <td>
                        <StatusBadge status={d.status === "verified" ? "healthy" : "pending"} />
                        <span class="sr-only">{d.status}</span>
                        <Show when={d.status === "pending"}>
                          <div class="muted">
                            Point this name's DNS at the node, then verify: Denia fetches <span class="mono">{d.verificationUrl}</span>.
                          </div>
                        </Show>
                        <Show when={d.lastError}>
                          <div class="field-error">{d.lastError}</div>
                        </Show>
                      </td>
                      <td>{props.service.tlsEnabled ? d.certificate.status : "TLS off"}</td>
                      <Show when={props.canOperate}>
                        <td class="actions">
                          <Show when={d.status === "pending"}>
                            <button type="button" class="btn" disabled={m.verify.isPending} onClick={() => m.verify.mutate(d.id)}>
                              Verify
                            </button>
                          </Show>
                          <button type="button" class="btn btn-ghost btn-danger" disabled={m.remove.isPending} onClick={() => m.remove.mutate(d.id)} aria-label={`Remove ${d.hostname}`}>
                            Remove
                          </button>
                        </td>
                      </Show>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          )}
      </QueryList>
      <FormError message={m.verify.error?.message ?? m.remove.error?.message} />
      <Show when={props.canOperate}>
        <form
          class="inline-form row"
          aria-label="Attach domain"
          novalidate
          onSubmit={(e) => {
            e.preventDefault()
            m.attach.mutate(hostname().trim(), { onSuccess: () => setHostname("") })
          }}
        >
          <TextField label="Hostname" name="hostname" value={hostname()} onValue={setHostname} error={attachIssues()["hostname"] ?? (m.attach.error ? m.attach.error.message : undefined)} placeholder="app.example.com" spellcheck={false} />
          <button type="submit" class="btn" disabled={m.attach.isPending || hostname().trim() === ""}>
            Attach domain
          </button>
        </form>
      </Show>
    </>
  )
}

const ACTIONS: ReadonlyArray<{ readonly action: ServiceAction; readonly label: string; readonly confirm?: string }> = [
  { action: "deploy", label: "Deploy" },
  { action: "restart", label: "Restart" },
  { action: "start", label: "Start" },
  { action: "stop", label: "Stop", confirm: "Stop every replica of this service?" },
  { action: "rollback", label: "Roll back", confirm: "Roll back to the previous deployment?" }
]

/** Deploy and lifecycle buttons; a started deployment opens its log. */
const Actions: Component<SectionProps> = (props) => {
  const run = useServiceAction(() => props.service.id)
  const remove = useDeleteService()
  const navigate = useNavigate()
  const [done, setDone] = createSignal<string>()
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
            disabled={run.isPending || (a.action === "rollback" && props.service.previousDeploymentId === null)}
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

/** The detail page's sections, in order. */
export const SECTIONS: ReadonlyArray<Section> = [
  { id: "overview", title: "Overview", component: Overview },
  { id: "deployments", title: "Deployments", component: Deployments },
  { id: "service-log", title: "Service log", operatorOnly: true, component: ServiceLog },
  { id: "domains", title: "Domains", component: Domains },
  { id: "environment", title: "Environment", component: Environment }
]

/** Operator or admin in the service's project, or a super-admin. */
const useCanOperate = (projectId: () => string | undefined) => {
  const me = useMe()
  return createMemo(() => {
    const data = me.data
    if (data === undefined) return false
    if (data.superAdmin) return true
    const m = data.memberships.find((x) => x.projectId === projectId())
    return m !== undefined && m.role !== "viewer"
  })
}

export default function ServiceDetail() {
  const params = useParams<{ id: string }>()
  const service = useService(() => params.id)
  const canOperate = useCanOperate(() => service.data?.projectId)
  const [openLog, setOpenLog] = createSignal<string>()
  const sections = () => SECTIONS.filter((sec) => canOperate() || sec.operatorOnly !== true)
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
              <Show when={canOperate()}>
                <A class="btn" href={`/services/${s().id}/edit`}>
                  Edit
                </A>
              </Show>
            </header>
            <Show when={canOperate()}>
              <Actions service={s()} canOperate={canOperate()} openLog={openLog} setOpenLog={setOpenLog} />
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
                  <sec.component service={s()} canOperate={canOperate()} openLog={openLog} setOpenLog={setOpenLog} />
                </div>
              )}
            </For>
          </section>
        )}
      </Match>
    </Switch>
  )
}
