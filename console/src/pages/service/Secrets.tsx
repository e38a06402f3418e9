/**
 * Secret env vars of the service (operators): names and when each last
 * changed — never values — plus set (create or replace) and remove. The value
 * input is a password field and is cleared once the secret is stored.
 */
import { type Component, createSignal, Show } from "solid-js"
import { issuesByField } from "../../api/failure.js"
import { useSecretMutations, useSecrets } from "../../api/queries.js"
import { DataTable } from "../../components/DataTable.js"
import { TextField } from "../../components/Field.js"
import { FormError, QueryList } from "../../components/States.js"
import { formatTime } from "../../lib/format.js"
import type { SectionProps } from "./section.js"

export const Secrets: Component<SectionProps> = (props) => {
  const secrets = useSecrets(() => props.service.id)
  const m = useSecretMutations(() => props.service.id)
  const [name, setName] = createSignal("")
  const [value, setValue] = createSignal("")
  const [saved, setSaved] = createSignal<string>()
  const issues = () => issuesByField(m.set.error ?? undefined)
  const placed = () => issues()["name"] !== undefined || issues()["value"] !== undefined
  const submit = (e: SubmitEvent) => {
    e.preventDefault()
    setSaved(undefined)
    const n = name().trim()
    m.set.mutate(
      { name: n, value: value() },
      {
        onSuccess: () => {
          setName("")
          setValue("")
          setSaved(`Secret ${n} saved. Redeploy to apply it.`)
        }
      }
    )
  }
  return (
    <>
      <p class="muted">Injected as environment variables; values are stored encrypted and never shown again.</p>
      <QueryList
        query={secrets}
        loadingLabel="Loading secrets…"
        errorTitle="Could not load secrets"
        empty={<p class="muted">No secrets.</p>}
      >
        {(list) => (
          <DataTable
            caption="Secrets"
            columns={["Name", "Updated", { label: "Actions", hidden: true }]}
            items={list()}
            row={(s) => (
              <tr data-secret={s.name}>
                <td class="mono">{s.name}</td>
                <td>{formatTime(s.updatedAt)}</td>
                <td>
                  <button
                    type="button"
                    class="btn btn-ghost btn-danger"
                    disabled={m.remove.isPending}
                    onClick={() => {
                      setSaved(undefined)
                      m.remove.mutate(s.name, { onSuccess: () => setSaved(`Secret ${s.name} removed. Redeploy to apply it.`) })
                    }}
                    aria-label={`Remove secret ${s.name}`}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            )}
          />
        )}
      </QueryList>
      <FormError message={m.remove.error?.message} />
      <form class="inline-form" aria-label="Set secret" novalidate onSubmit={submit}>
        <FormError message={m.set.error !== null && !placed() ? m.set.error.message : undefined} />
        <div class="row">
          <TextField
            label="Secret name"
            name="secretName"
            autocomplete="off"
            spellcheck={false}
            value={name()}
            onValue={setName}
            error={issues()["name"]}
            placeholder="DATABASE_URL"
          />
          <TextField
            label="Secret value"
            name="secretValue"
            type="password"
            autocomplete="off"
            value={value()}
            onValue={setValue}
            error={issues()["value"]}
          />
        </div>
        <button type="submit" class="btn" disabled={m.set.isPending || name().trim() === ""}>
          Set secret
        </button>
        <Show when={saved()}>
          <span role="status" class="muted">
            {" "}
            {saved()}
          </span>
        </Show>
      </form>
    </>
  )
}
