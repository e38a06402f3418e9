/**
 * Denia's hosted registry: the repositories of the projects you can see
 * (`GET /v1/registry/repositories`; a project viewer sees that project's,
 * a super-admin all), their tags on demand (`/v2/<name>/tags/list`), and
 * copy-paste push commands for a service's repository.
 */
import { A } from "@solidjs/router"
import { useQuery } from "@tanstack/solid-query"
import { createSignal, For, Match, Show, Switch } from "solid-js"
import type { ApiFailure } from "../api/failure.js"
import { useHostedRepositories } from "../api/queries.js"
import { fetchTags } from "../api/registryTags.js"
import { DataTable } from "../components/DataTable.js"
import { Empty, ErrorState, QueryList } from "../components/States.js"
import { formatTime } from "../lib/format.js"
import { dockerPush, type PushTarget, pushTargetOf, skopeoPush } from "../lib/push.js"

const CopyBlock = (props: { readonly label: string; readonly text: string }) => (
  <div class="copy-block">
    <pre class="log mono" aria-label={props.label} tabindex="0">
      {props.text}
    </pre>
    <button type="button" class="btn" onClick={() => void navigator.clipboard?.writeText(props.text)} aria-label={`Copy: ${props.label}`}>
      Copy
    </button>
  </div>
)

export const PushInstructions = (props: { readonly target: PushTarget; readonly repository: string; readonly tag?: string }) => {
  const tag = () => props.tag ?? "v1"
  return (
    <div class="push-help">
      <p class="muted">
        Push with an API token (make one under <A href="/settings">Settings</A>) as the password; a service with the <em>hosted</em>{" "}
        source deploys the tag it names, and a push to that tag deploys it.
      </p>
      <CopyBlock label={`skopeo push to ${props.repository}`} text={skopeoPush(props.target, props.repository, tag())} />
      <CopyBlock label={`docker push to ${props.repository}`} text={dockerPush(props.target, props.repository, tag()).join("\n")} />
    </div>
  )
}

const Tags = (props: { readonly repository: string }) => {
  const tags = useQuery<ReadonlyArray<string>, ApiFailure>(() => ({
    queryKey: ["registry", "tags", props.repository],
    queryFn: () => fetchTags(props.repository)
  }))
  return (
    <Switch>
      <Match when={tags.isPending}>
        <span class="muted">…</span>
      </Match>
      <Match when={tags.isError}>
        <ErrorState error={tags.error} retry={() => void tags.refetch()} title="Could not list the tags" />
      </Match>
      <Match when={tags.data}>
        {(list) => (
          <Show when={list().length > 0} fallback={<span class="muted">no tags</span>}>
            <ul class="tag-list" aria-label={`Tags of ${props.repository}`}>
              <For each={list()}>{(t) => <li class="badge mono">{t}</li>}</For>
            </ul>
          </Show>
        )}
      </Match>
    </Switch>
  )
}

export default function Registry() {
  const repositories = useHostedRepositories()
  const target = pushTargetOf(window.location)
  const [open, setOpen] = createSignal<string>()
  return (
    <section aria-labelledby="registry-title">
      <header class="page-head">
        <h1 id="registry-title">Registry</h1>
      </header>
      <div class="card">
        <QueryList
          query={repositories}
          loadingLabel="Loading repositories…"
          errorTitle="Could not load the registry"
          empty={
            <Empty title="No images pushed yet">
              <p class="muted">
                Every service has a repository <span class="mono">&lt;project&gt;/&lt;service&gt;</span>; push an image to it, for example:
              </p>
              <PushInstructions target={target} repository="default/web" />
            </Empty>
          }
        >
          {(list) => (
            <>
              <DataTable
                caption="Hosted repositories"
                columns={["Repository", "Tags", "Manifests", "Updated", { label: "Details", hidden: true }]}
                items={list()}
                row={(r) => (
                  <tr data-repository={r.name}>
                    <td class="mono">
                      <A href={`/services/${r.serviceId}`}>{r.name}</A>
                    </td>
                    <td>
                      <Show when={open() === r.name} fallback={<span>{r.tags}</span>}>
                        <Tags repository={r.name} />
                      </Show>
                    </td>
                    <td>{r.manifests}</td>
                    <td>{formatTime(r.updatedAt)}</td>
                    <td>
                      <button
                        type="button"
                        class="btn btn-ghost"
                        aria-expanded={open() === r.name}
                        onClick={() => setOpen(open() === r.name ? undefined : r.name)}
                      >
                        {open() === r.name ? "Hide" : "Tags and push"}
                      </button>
                    </td>
                  </tr>
                )}
              />
              <Show when={open()}>
                {(name) => (
                  <div class="repo-detail" role="region" aria-label={`Push to ${name()}`}>
                    <h2>Push to {name()}</h2>
                    <PushInstructions target={target} repository={name()} />
                  </div>
                )}
              </Show>
            </>
          )}
        </QueryList>
      </div>
    </section>
  )
}
