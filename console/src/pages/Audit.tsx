/**
 * The audit log (super-admins): who did what, when, from where, newest
 * first, 50 per page. Paging follows the API's cursor (`nextCursor`); the
 * cursors already visited are kept so "Newer" goes back without refetching.
 */
import { createSignal, Match, Show, Switch } from "solid-js"
import { useAuditPage, useMe } from "../api/queries.js"
import { DataTable } from "../components/DataTable.js"
import { StatusBadge } from "../components/ServiceStatus.js"
import { Empty, ErrorState, Loading } from "../components/States.js"
import { formatTime } from "../lib/format.js"

const OUTCOME_TONE = { ok: "healthy", denied: "failed", failed: "failed" } as const

const details = (d: Readonly<Record<string, unknown>> | null): string =>
  d === null
    ? ""
    : Object.entries(d)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ")

export const AuditLog = () => {
  // cursors[i] is the cursor that loads page i (page 0: none).
  const [cursors, setCursors] = createSignal<ReadonlyArray<string | undefined>>([undefined])
  const cursor = () => cursors()[cursors().length - 1]
  const page = useAuditPage(cursor)
  return (
    <Switch>
      <Match when={page.isPending}>
        <Loading label="Loading the audit log…" />
      </Match>
      <Match when={page.isError}>
        <ErrorState error={page.error} retry={() => void page.refetch()} title="Could not load the audit log" />
      </Match>
      <Match when={page.data}>
        {(data) => (
          <>
            <Show when={data().items.length > 0} fallback={<Empty title="Nothing recorded yet" />}>
              <DataTable
                caption="Audit log, newest first"
                columns={["When", "Actor", "Action", "Target", "Outcome", "Client", "Details"]}
                items={data().items}
                row={(e) => (
                  <tr data-audit-action={e.action}>
                    <td>{formatTime(e.at)}</td>
                    <td class="mono">{e.actor}</td>
                    <td class="mono">{e.action}</td>
                    <td class="mono truncate" title={e.target ?? undefined}>
                      {e.target ?? "—"}
                    </td>
                    <td>
                      <StatusBadge status={e.outcome} tone={OUTCOME_TONE[e.outcome]} />
                    </td>
                    <td class="mono">{e.clientIp ?? "—"}</td>
                    <td class="mono truncate" title={details(e.details)}>
                      {details(e.details)}
                    </td>
                  </tr>
                )}
              />
            </Show>
            <nav class="actions pager" aria-label="Audit log pages">
              <button type="button" class="btn" disabled={cursors().length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
                Newer
              </button>
              <span class="muted">Page {cursors().length}</span>
              <button
                type="button"
                class="btn"
                disabled={data().nextCursor === undefined}
                onClick={() => {
                  const next = data().nextCursor
                  if (next !== undefined) setCursors((c) => [...c, next])
                }}
              >
                Older
              </button>
            </nav>
          </>
        )}
      </Match>
    </Switch>
  )
}

export default function Audit() {
  const me = useMe()
  return (
    <section aria-labelledby="audit-title">
      <header class="page-head">
        <h1 id="audit-title">Audit log</h1>
      </header>
      <Switch>
        <Match when={me.isPending}>
          <Loading />
        </Match>
        <Match when={me.data?.superAdmin !== true}>
          <p class="muted">Only super-admins can read the audit log.</p>
        </Match>
        <Match when={me.data?.superAdmin === true}>
          <div class="card">
            <AuditLog />
          </div>
        </Match>
      </Switch>
    </section>
  )
}
