/**
 * A project's pull credentials for external registries (project admins).
 * Credentials go in once and are never shown again; the list shows the kind
 * and, for basic auth, the username.
 */
import { createSignal, Match, Show, Switch } from "solid-js"
import type { RegistryAuthKind } from "../../../src/domain/registry.js"
import { issuesByField } from "../api/failure.js"
import { useRegistries, useRegistryMutations } from "../api/queries.js"
import { DataTable } from "./DataTable.js"
import { SelectField, TextField } from "./Field.js"
import { ErrorState, FormError, Loading } from "./States.js"

const KINDS: ReadonlyArray<{ readonly value: RegistryAuthKind; readonly label: string }> = [
  { value: "anonymous", label: "Anonymous" },
  { value: "basic", label: "Username and password" },
  { value: "token", label: "Bearer token" },
  { value: "ecr", label: "AWS ECR token" },
  { value: "gar", label: "Google Artifact Registry token" }
]
const isKind = (k: string): k is RegistryAuthKind => KINDS.some((x) => x.value === k)

/** The `auth` body for a kind: only the fields that kind takes. */
export const authBody = (kind: RegistryAuthKind, username: string, password: string, token: string) =>
  kind === "anonymous" ? { kind } : kind === "basic" ? { kind, username, password } : { kind, token }

export const Registries = (props: { readonly projectId: string }) => {
  const registries = useRegistries(() => props.projectId)
  const m = useRegistryMutations(() => props.projectId)
  const [name, setName] = createSignal("")
  const [endpoint, setEndpoint] = createSignal("")
  const [kind, setKind] = createSignal<RegistryAuthKind>("anonymous")
  const [username, setUsername] = createSignal("")
  const [password, setPassword] = createSignal("")
  const [token, setToken] = createSignal("")
  const issues = () => issuesByField(m.create.error ?? undefined)
  const placed = () => Object.keys(issues()).some((f) => f === "name" || f === "endpoint" || f.startsWith("auth"))
  const submit = (e: SubmitEvent) => {
    e.preventDefault()
    m.create.mutate(
      { name: name().trim(), endpoint: endpoint().trim(), auth: authBody(kind(), username(), password(), token()) },
      {
        onSuccess: () => {
          setName("")
          setEndpoint("")
          setPassword("")
          setToken("")
        }
      }
    )
  }
  return (
    <Switch>
      <Match when={registries.isPending}>
        <Loading label="Loading registries…" />
      </Match>
      <Match when={registries.isError && registries.error?.status === 403}>
        <p class="muted">Only project admins can see and change registry credentials.</p>
      </Match>
      <Match when={registries.isError}>
        <ErrorState error={registries.error} retry={() => void registries.refetch()} />
      </Match>
      <Match when={registries.data}>
        {(list) => (
          <>
            <Show when={list().length > 0} fallback={<p class="muted">No registries: images are pulled anonymously.</p>}>
              <DataTable
                caption="Registries"
                columns={["Name", "Endpoint", "Credentials", "Id (for a service's image source)", { label: "Actions", hidden: true }]}
                items={list()}
                row={(r) => (
                  <tr>
                    <td>{r.name}</td>
                    <td class="mono">{r.endpoint}</td>
                    <td>
                      {r.auth.kind}
                      {r.auth.username === undefined ? "" : ` (${r.auth.username})`}
                    </td>
                    <td class="mono">{r.id}</td>
                    <td>
                      <button
                        type="button"
                        class="btn btn-ghost btn-danger"
                        disabled={m.remove.isPending}
                        onClick={() => m.remove.mutate(r.id)}
                        aria-label={`Remove registry ${r.name}`}
                      >
                        Remove
                      </button>
                    </td>
                  </tr>
                )}
              />
            </Show>
            <FormError message={m.remove.error?.message} />
            <form class="inline-form" onSubmit={submit} aria-label="Add registry" novalidate>
              <FormError message={m.create.error !== null && !placed() ? m.create.error.message : undefined} />
              <div class="row">
                <TextField label="Registry name" name="registryName" value={name()} onValue={setName} error={issues()["name"]} />
                <TextField
                  label="Endpoint"
                  name="endpoint"
                  value={endpoint()}
                  onValue={setEndpoint}
                  error={issues()["endpoint"]}
                  placeholder="ghcr.io"
                  spellcheck={false}
                />
              </div>
              <SelectField
                label="Credentials"
                name="kind"
                value={kind()}
                onValue={(k) => isKind(k) && setKind(k)}
                options={KINDS}
                error={issues()["auth.kind"] ?? issues()["auth"]}
              />
              <Switch>
                <Match when={kind() === "basic"}>
                  <div class="row">
                    <TextField
                      label="Registry username"
                      name="registryUsername"
                      autocomplete="off"
                      value={username()}
                      onValue={setUsername}
                      error={issues()["auth.username"]}
                    />
                    <TextField
                      label="Registry password"
                      name="registryPassword"
                      type="password"
                      autocomplete="new-password"
                      value={password()}
                      onValue={setPassword}
                      error={issues()["auth.password"]}
                    />
                  </div>
                </Match>
                <Match when={kind() !== "anonymous"}>
                  <TextField
                    label="Registry token"
                    name="registryToken"
                    type="password"
                    autocomplete="off"
                    value={token()}
                    onValue={setToken}
                    error={issues()["auth.token"]}
                  />
                </Match>
              </Switch>
              <button type="submit" class="btn" disabled={m.create.isPending}>
                Add registry
              </button>
            </form>
          </>
        )}
      </Match>
    </Switch>
  )
}
