/** Account settings: password, your API tokens (shown once), users and the audit log for super-admins. */
import { A } from "@solidjs/router"
import { useMutation, useQuery, useQueryClient } from "@tanstack/solid-query"
import { createSignal, Show } from "solid-js"
import { call } from "../api/client.js"
import { type ApiFailure, issuesByField } from "../api/failure.js"
import { keys, useMe, useUsers } from "../api/queries.js"
import { DataTable } from "../components/DataTable.js"
import { TextField } from "../components/Field.js"
import { Empty, FormError, QueryList } from "../components/States.js"
import { formatTime } from "../lib/format.js"

const tokensKey = keys.apiTokens
const fetchTokens = () => call((c) => c.apiTokens.list()).then((r) => r.items)

const ApiTokens = () => {
  const qc = useQueryClient()
  const tokens = useQuery<Awaited<ReturnType<typeof fetchTokens>>, ApiFailure>(() => ({ queryKey: tokensKey, queryFn: fetchTokens }))
  const [name, setName] = createSignal("")
  const [minted, setMinted] = createSignal<{ name: string; token: string }>()
  const create = useMutation<{ name: string; token: string }, ApiFailure, string>(() => ({
    mutationFn: (n) => call((c) => c.apiTokens.create({ payload: { name: n } })),
    onSuccess: (t) => {
      setMinted({ name: t.name, token: t.token })
      setName("")
      return qc.invalidateQueries({ queryKey: tokensKey })
    }
  }))
  const revoke = useMutation<unknown, ApiFailure, string>(() => ({
    mutationFn: (id) => call((c) => c.apiTokens.revoke({ path: { id } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: tokensKey })
  }))
  return (
    <div class="card" role="region" aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      <p class="muted">Long-lived bearer tokens for the CLI and scripts. A token is shown once, when it is made.</p>
      <Show when={minted()}>
        {(m) => (
          <div class="state" role="status">
            <strong>New token “{m().name}” — copy it now</strong>
            <code class="mono token-value">{m().token}</code>
            <button type="button" class="btn" onClick={() => void navigator.clipboard?.writeText(m().token)}>
              Copy
            </button>
          </div>
        )}
      </Show>
      <QueryList
        query={tokens}
        empty={
          <>
            <p class="muted">No API tokens.</p>
          </>
        }
      >
        {(list) => (
          <DataTable
            caption="API tokens"
            columns={["Name", "Created", "Last used", { label: "Actions", hidden: true }]}
            items={list()}
            row={(t) => (
              <tr>
                <td>{t.name}</td>
                <td>{formatTime(t.createdAt)}</td>
                <td>{t.lastUsedAt === null ? "never" : formatTime(t.lastUsedAt)}</td>
                <td>
                  <button
                    type="button"
                    class="btn btn-ghost btn-danger"
                    disabled={revoke.isPending}
                    onClick={() => revoke.mutate(t.id)}
                    aria-label={`Revoke ${t.name}`}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            )}
          />
        )}
      </QueryList>
      <FormError message={revoke.error?.message} />
      <form
        class="inline-form row"
        aria-label="New API token"
        novalidate
        onSubmit={(e) => {
          e.preventDefault()
          create.mutate(name().trim())
        }}
      >
        <TextField
          label="Token name"
          name="tokenName"
          value={name()}
          onValue={setName}
          error={create.error ? (issuesByField(create.error)["name"] ?? create.error.message) : undefined}
          placeholder="laptop-cli"
        />
        <button type="submit" class="btn" disabled={create.isPending || name().trim() === ""}>
          Create token
        </button>
      </form>
    </div>
  )
}

const Users = () => {
  const qc = useQueryClient()
  const me = useMe()
  const users = useUsers(() => true)
  const [username, setUsername] = createSignal("")
  const [password, setPassword] = createSignal("")
  const [superAdmin, setSuperAdmin] = createSignal(false)
  const create = useMutation<unknown, ApiFailure, { username: string; password: string; superAdmin: boolean }>(() => ({
    mutationFn: (payload) => call((c) => c.users.create({ payload })),
    onSuccess: () => {
      setUsername("")
      setPassword("")
      setSuperAdmin(false)
      return qc.invalidateQueries({ queryKey: keys.users })
    }
  }))
  const remove = useMutation<unknown, ApiFailure, string>(() => ({
    mutationFn: (id) => call((c) => c.users.delete({ path: { id } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.users })
  }))
  const issues = () => issuesByField(create.error ?? undefined)
  return (
    <div class="card" role="region" aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <QueryList
        query={users}
        empty={
          <>
            <Empty title="No users" />
          </>
        }
      >
        {(list) => (
          <DataTable
            caption="Users"
            columns={["Username", "Role", "Created", { label: "Actions", hidden: true }]}
            items={list()}
            row={(u) => (
              <tr>
                <td>{u.username}</td>
                <td>{u.superAdmin ? "super-admin" : "user"}</td>
                <td>{formatTime(u.createdAt)}</td>
                <td>
                  <Show when={me.data?.user?.id !== u.id} fallback={<span class="muted">you</span>}>
                    <button
                      type="button"
                      class="btn btn-ghost btn-danger"
                      disabled={remove.isPending}
                      onClick={() => remove.mutate(u.id)}
                      aria-label={`Delete user ${u.username}`}
                    >
                      Delete
                    </button>
                  </Show>
                </td>
              </tr>
            )}
          />
        )}
      </QueryList>
      <FormError message={remove.error?.message} />
      <form
        class="inline-form"
        aria-label="New user"
        novalidate
        onSubmit={(e) => {
          e.preventDefault()
          create.mutate({ username: username().trim(), password: password(), superAdmin: superAdmin() })
        }}
      >
        <FormError
          message={create.error !== null && issues()["username"] === undefined && issues()["password"] === undefined
            ? create.error.message
            : undefined}
        />
        <div class="row">
          <TextField
            label="New username"
            name="newUsername"
            autocomplete="off"
            value={username()}
            onValue={setUsername}
            error={issues()["username"]}
          />
          <TextField
            label="Initial password"
            name="newPassword"
            type="password"
            autocomplete="new-password"
            value={password()}
            onValue={setPassword}
            error={issues()["password"]}
            hint="At least 12 characters"
          />
        </div>
        <label class="check">
          <input type="checkbox" checked={superAdmin()} onChange={(e) => setSuperAdmin(e.currentTarget.checked)} />
          Super-admin (all projects, users and node settings)
        </label>
        <button type="submit" class="btn" disabled={create.isPending}>
          Create user
        </button>
      </form>
    </div>
  )
}

export default function Settings() {
  const me = useMe()
  return (
    <section aria-labelledby="settings-title">
      <header class="page-head">
        <h1 id="settings-title">Settings</h1>
      </header>
      <Show when={me.data?.user}>
        <div class="card" role="region" aria-labelledby="account-title">
          <h2 id="account-title">Account</h2>
          <div class="actions">
            <A class="btn" href="/account/password">
              Change password
            </A>
            <Show when={me.data?.superAdmin}>
              <A class="btn" href="/audit">
                Audit log
              </A>
            </Show>
          </div>
        </div>
      </Show>
      <Show when={me.data?.credential !== "adminToken"}>
        <ApiTokens />
      </Show>
      <Show when={me.data?.superAdmin}>
        <Users />
      </Show>
    </section>
  )
}
