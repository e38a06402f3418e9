/**
 * Change your own password (`POST /v1/me/password`): the current password,
 * the new one twice, and whether to keep your API tokens. The daemon signs
 * out your other sessions (and revokes the tokens unless kept) but keeps this
 * one, so the page stays signed in and says what happened. A wrong current
 * password is a 400 naming `currentPassword`, shown under its input; attempts
 * count against the login throttle (429).
 */
import { useQueryClient } from "@tanstack/solid-query"
import { createSignal, Match, Show, Switch } from "solid-js"
import { type ApiFailure, issuesByField, toApiFailure } from "../api/failure.js"
import { changeOwnPassword, keys, useMe } from "../api/queries.js"
import { TextField } from "../components/Field.js"
import { confirmationMismatch, NewPasswordFields } from "../components/NewPasswordFields.js"
import { FormError, Loading } from "../components/States.js"

/** Fields that have an input on this page; an issue on any other field is shown above the form. */
const FIELDS = ["currentPassword", "newPassword", "confirm"] as const

export default function Password() {
  const me = useMe()
  const qc = useQueryClient()
  const [current, setCurrent] = createSignal("")
  const [password, setPassword] = createSignal("")
  const [confirm, setConfirm] = createSignal("")
  const [keepTokens, setKeepTokens] = createSignal(false)
  const [error, setError] = createSignal<ApiFailure>()
  const [busy, setBusy] = createSignal(false)
  /** Set after a successful change: whether the API tokens were kept. */
  const [done, setDone] = createSignal<{ readonly keptTokens: boolean }>()

  const submit = async (e: SubmitEvent) => {
    e.preventDefault()
    setError(undefined)
    setDone(undefined)
    const mismatch = confirmationMismatch(password(), confirm())
    if (mismatch !== undefined) return setError(mismatch)
    setBusy(true)
    const keptTokens = keepTokens()
    try {
      await changeOwnPassword({ currentPassword: current(), newPassword: password(), keepTokens: keptTokens })
    } catch (err) {
      return setError(toApiFailure(err))
    } finally {
      setBusy(false)
    }
    setCurrent("")
    setPassword("")
    setConfirm("")
    setDone({ keptTokens })
    if (!keptTokens) void qc.invalidateQueries({ queryKey: keys.apiTokens })
  }

  const issues = () => issuesByField(error())
  const formMessage = () => {
    const e = error()
    if (e === undefined || FIELDS.some((f) => issues()[f] !== undefined)) return undefined
    if (e.status === 429) return `Too many attempts (they count with sign-ins); wait a minute and try again. (${e.message})`
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
            <form class="card inline-form" aria-label="Change password" novalidate onSubmit={(e) => void submit(e)}>
              <p class="muted">
                For{" "}
                <strong>{user().username}</strong>. Changing it signs out your other sessions and, unless you keep them, revokes your API
                tokens. This session stays signed in.
              </p>
              <Show when={done()}>
                {(d) => (
                  <p class="notice" role="status">
                    Password changed. Your other sessions were signed out{d().keptTokens
                      ? "; your API tokens still work."
                      : " and your API tokens were revoked."} You are still signed in here.
                  </p>
                )}
              </Show>
              <FormError message={formMessage()} />
              <TextField
                label="Current password"
                name="currentPassword"
                type="password"
                autocomplete="current-password"
                required
                value={current()}
                onValue={setCurrent}
                error={issues()["currentPassword"]}
              />
              <NewPasswordFields
                label="New password"
                confirmLabel="Confirm new password"
                name="newPassword"
                confirmName="confirmPassword"
                password={password}
                setPassword={setPassword}
                confirm={confirm}
                setConfirm={setConfirm}
                error={issues()["newPassword"]}
                confirmError={issues()["confirm"]}
              />
              <label class="check">
                <input type="checkbox" name="keepTokens" checked={keepTokens()} onChange={(e) => setKeepTokens(e.currentTarget.checked)} />
                Keep my API tokens (otherwise they stop working)
              </label>
              <button type="submit" class="btn btn-primary" disabled={busy() || current() === "" || password() === ""}>
                {busy() ? "Changing…" : "Change password"}
              </button>
            </form>
          )}
        </Match>
      </Switch>
    </section>
  )
}
