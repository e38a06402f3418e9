/** Custom domains: attach, verify (HTTP challenge), remove. */
import { type Component, createSignal, Show } from "solid-js"
import { issuesByField } from "../../api/failure.js"
import { useDomainMutations, useDomains } from "../../api/queries.js"
import { DataTable } from "../../components/DataTable.js"
import { TextField } from "../../components/Field.js"
import { StatusBadge } from "../../components/ServiceStatus.js"
import { FormError, QueryList } from "../../components/States.js"
import type { SectionProps } from "./section.js"

export const Domains: Component<SectionProps> = (props) => {
  const domains = useDomains(() => props.service.id)
  const m = useDomainMutations(() => props.service.id)
  const [hostname, setHostname] = createSignal("")
  const attachIssues = () => issuesByField(m.attach.error ?? undefined)
  return (
    <>
      <QueryList
        query={domains}
        loadingLabel="Loading domains…"
        empty={<p class="muted">No custom domains. The service answers at its default URL.</p>}
      >
        {(list) => (
          <DataTable
            caption="Domains"
            columns={["Hostname", "Status", "Certificate", props.canOperate && { label: "Actions", hidden: true }]}
            items={list()}
            row={(d) => (
              <tr>
                <td class="mono">{d.hostname}</td>
                <td>
                  <StatusBadge status={d.status === "verified" ? "healthy" : "pending"} />
                  <span class="sr-only">{d.status}</span>
                  <Show when={d.status === "pending"}>
                    <div class="muted">
                      Point this name's DNS at the node, then verify: Denia fetches <span class="mono wrap">{d.verificationUrl}</span>.
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
                    <button
                      type="button"
                      class="btn btn-ghost btn-danger"
                      disabled={m.remove.isPending}
                      onClick={() => m.remove.mutate(d.id)}
                      aria-label={`Remove ${d.hostname}`}
                    >
                      Remove
                    </button>
                  </td>
                </Show>
              </tr>
            )}
          />
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
          <TextField
            label="Hostname"
            name="hostname"
            value={hostname()}
            onValue={setHostname}
            error={attachIssues()["hostname"] ?? (m.attach.error ? m.attach.error.message : undefined)}
            placeholder="app.example.com"
            spellcheck={false}
          />
          <button type="submit" class="btn" disabled={m.attach.isPending || hostname().trim() === ""}>
            Attach domain
          </button>
        </form>
      </Show>
    </>
  )
}
