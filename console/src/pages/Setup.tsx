/**
 * First run: create the first admin user with the daemon's admin token
 * (`POST /v1/bootstrap`, allowed once), then sign in as that user. The admin
 * token is used for this one request and never stored. Once an admin exists
 * (`GET /v1/setup-status`) the page says so and points to the login page.
 */
import { A, useNavigate } from "@solidjs/router"
import { useQueryClient } from "@tanstack/solid-query"
import { createSignal, Show } from "solid-js"
import { call } from "../api/client.js"
import { ApiFailure, issuesByField, toApiFailure } from "../api/failure.js"
import { keys, useSetupStatus } from "../api/queries.js"
import { AuthCard } from "../components/AuthCard.js"
import { TextField } from "../components/Field.js"
import { confirmationMismatch, NewPasswordFields } from "../components/NewPasswordFields.js"
import { signIn } from "./Login.js"

export default function Setup() {
  const navigate = useNavigate()
  const setup = useSetupStatus()
  const qc = useQueryClient()
  const [adminToken, setAdminToken] = createSignal("")
  const [username, setUsername] = createSignal("admin")
  const [password, setPassword] = createSignal("")
  const [confirm, setConfirm] = createSignal("")
  const [error, setError] = createSignal<ApiFailure>()
  const [busy, setBusy] = createSignal(false)

  const submit = async (e: SubmitEvent) => {
    e.preventDefault()
    setError(undefined)
    if (adminToken().trim() === "") {
      return setError(
        new ApiFailure(0, "INVALID_INPUT", "adminToken: enter the admin token", [{
          field: "adminToken",
          message: "Enter the admin token from the daemon's config file (admin_token)."
        }])
      )
    }
    const mismatch = confirmationMismatch(password(), confirm())
    if (mismatch !== undefined) return setError(mismatch)
    setBusy(true)
    try {
      await call((c) => c.auth.bootstrap({ payload: { username: username().trim(), password: password() } }), {
        token: adminToken().trim()
      })
      qc.setQueryData(keys.setupStatus, { setupComplete: true })
      await signIn(username().trim(), password())
      navigate("/projects", { replace: true })
    } catch (err) {
      setError(toApiFailure(err))
    } finally {
      setBusy(false)
    }
  }

  const issues = () => issuesByField(error())
  const formMessage = () => {
    const e = error()
    if (e === undefined) return undefined
    if (e.status === 401 || e.status === 403) return "The admin token was not accepted. Copy admin_token from the daemon's config file."
    if (e.status === 409) return "Denia is already set up. Sign in instead."
    const i = issues()
    return i["adminToken"] ?? i["username"] ?? i["password"] ?? i["confirm"] ? undefined : e.message
  }

  return (
    <Show
      when={setup.data?.setupComplete !== true}
      fallback={
        <div class="auth-page">
          <div class="card auth-card" role="region" aria-labelledby="setup-done-title">
            <h1 id="setup-done-title">Denia is already set up</h1>
            <p class="muted">An admin account exists. Sign in with it; super-admins add more users under Settings.</p>
            <A class="btn btn-primary" href="/login">
              Go to sign in
            </A>
          </div>
        </div>
      }
    >
      <AuthCard
        id="setup-title"
        title="Set up Denia"
        intro="Create the first admin account. You need the admin token from the daemon's config file."
        error={formMessage()}
        submitLabel="Create admin and sign in"
        busyLabel="Setting up…"
        busy={busy()}
        onSubmit={(e) => void submit(e)}
        footer={
          <p class="muted">
            Already set up? <A href="/login">Sign in</A>.
          </p>
        }
      >
        <TextField
          label="Admin token"
          name="adminToken"
          type="password"
          autocomplete="off"
          required
          value={adminToken()}
          onValue={setAdminToken}
          error={issues()["adminToken"]}
          hint="admin_token in the config file the daemon printed at start"
        />
        <TextField
          label="Admin username"
          name="username"
          autocomplete="username"
          required
          value={username()}
          onValue={setUsername}
          error={issues()["username"]}
        />
        <NewPasswordFields
          label="Password"
          confirmLabel="Confirm password"
          name="password"
          confirmName="confirm"
          password={password}
          setPassword={setPassword}
          confirm={confirm}
          setConfirm={setConfirm}
          error={issues()["password"]}
          confirmError={issues()["confirm"]}
        />
      </AuthCard>
    </Show>
  )
}
