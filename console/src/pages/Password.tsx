/**
 * Change your own password (`PATCH /v1/users/{id}`). A password change ends
 * the user's sessions on the daemon, so on success the console signs out
 * here too and returns to the login page with a message; should the change
 * land any other way, the next request's 401 does the same (see App).
 */
import { useNavigate } from "@solidjs/router"
import { useQueryClient } from "@tanstack/solid-query"
import { Match, Switch, createSignal } from "solid-js"
import { call } from "../api/client.js"
import { ApiFailure, issuesByField, toApiFailure } from "../api/failure.js"
import { changePassword, useMe } from "../api/queries.js"
import { TextField } from "../components/Field.js"
import { FormError, Loading } from "../components/States.js"
import { sessionStore } from "../state/session.js"

export default function Password() {
  const me = useMe()
  const qc = useQueryClient()
  const navigate = useNavigate()
  const [password, setPassword] = createSignal("")
  const [confirm, setConfirm] = createSignal("")
  const [error, setError] = createSignal<ApiFailure>()
  const [busy, setBusy] = createSignal(false)

  const submit = async (e: SubmitEvent, userId: string) => {
    e.preventDefault()
    setError(undefined)
    if (password() !== confirm()) return setError(new ApiFailure(0, "INVALID_INPUT", "confirm: passwords differ", [{ field: "confirm", message: "The passwords do not match." }]))
    setBusy(true)
    try {
      await changePassword(userId, password())
    } catch (err) {
      setBusy(false)
      return setError(toApiFailure(err))
    }
    // The old session is done either way: end it (ignoring a 401 if the daemon already revoked it) and sign in again.
    const token = sessionStore.token()
    await call((c) => c.auth.logout(), { token }).catch(() => undefined)
    sessionStore.signOut()
    qc.clear()
    navigate("/login?changed=1", { replace: true })
  }

  const issues = () => issuesByField(error())
  const formMessage = () => {
    const e = error()
    if (e === undefined || issues()["password"] !== undefined || issues()["confirm"] !== undefined) return undefined
    if (e.status === 403) return `This daemon lets only super-admins change passwords; ask one to set a new password for you. (${e.message})`
    return e.message
  }

  return (
    <section aria-labelledby="password-title">
      <header class="page-head">
        <h1 id="password-title">Change password</h1>
      </header>
      <Switch>
        <Match when={me.isPending}>
          <Loading />
        </Match>
        <Match when={me.data !== undefined && me.data.user === null}>
          <p class="muted">You are signed in with the admin token, which has no password. Sign in as a user to change theirs.</p>
        </Match>
        <Match when={me.data?.user}>
          {(user) => (
            <form class="card inline-form" aria-label="Change password" novalidate onSubmit={(e) => void submit(e, user().id)}>
              <p class="muted">
                For <strong>{user().username}</strong>. Changing it signs you out everywhere: sessions and API tokens made with the old password stop working.
              </p>
              <FormError message={formMessage()} />
              <TextField
                label="New password"
                name="newPassword"
                type="password"
                autocomplete="new-password"
                required
                value={password()}
                onValue={setPassword}
                error={issues()["password"]}
                hint="At least 12 characters"
              />
              <TextField label="Confirm new password" name="confirmPassword" type="password" autocomplete="new-password" required value={confirm()} onValue={setConfirm} error={issues()["confirm"]} />
              <button type="submit" class="btn btn-primary" disabled={busy() || password() === ""}>
                {busy() ? "Changing…" : "Change password"}
              </button>
            </form>
          )}
        </Match>
      </Switch>
    </section>
  )
}
