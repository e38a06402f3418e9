/**
 * Sign in with a username and password; the session token goes to
 * sessionStorage. First-run setup is offered only while no admin exists
 * (the public `GET /v1/setup-status`).
 */
import { A, useNavigate, useSearchParams } from "@solidjs/router"
import { createSignal, Show } from "solid-js"
import { call } from "../api/client.js"
import { type ApiFailure, issuesByField, toApiFailure } from "../api/failure.js"
import { useSetupStatus } from "../api/queries.js"
import { AuthCard } from "../components/AuthCard.js"
import { TextField } from "../components/Field.js"
import { sessionStore } from "../state/session.js"

/** Logs in and stores the session; shared by the login and setup pages. */
export const signIn = async (username: string, password: string): Promise<void> => {
  const session = await call((c) => c.authPublic.login({ payload: { username, password } }), { token: undefined })
  sessionStore.signIn({ token: session.token, expiresAt: session.expiresAt, username })
}

/** Only same-origin app paths are followed after login. */
export const safeNext = (next: string | string[] | undefined): string => {
  const n = Array.isArray(next) ? next[0] : next
  return n !== undefined && n.startsWith("/") && !n.startsWith("//") && !n.startsWith("/login") && !n.startsWith("/setup") ? n : "/projects"
}

/** Why the user is on the login page, from the query string the redirects set. */
const noticeFor = (params: Partial<Record<string, string | string[]>>): string | undefined =>
  params["changed"] !== undefined
    ? "Password changed. Sign in with the new password."
    : params["expired"] !== undefined
    ? "Your session ended; sign in again."
    : undefined

export default function Login() {
  const navigate = useNavigate()
  const [params] = useSearchParams()
  const setup = useSetupStatus()
  const [username, setUsername] = createSignal("")
  const [password, setPassword] = createSignal("")
  const [error, setError] = createSignal<ApiFailure>()
  const [busy, setBusy] = createSignal(false)

  const submit = async (e: SubmitEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await signIn(username().trim(), password())
      navigate(safeNext(params["next"]), { replace: true })
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
    if (e.status === 401) return "Wrong username or password."
    return issues()["username"] !== undefined || issues()["password"] !== undefined ? undefined : e.message
  }

  return (
    <AuthCard
      id="login-title"
      title="Sign in to Denia"
      error={formMessage()}
      notice={noticeFor(params)}
      submitLabel="Sign in"
      busyLabel="Signing in…"
      busy={busy()}
      onSubmit={(e) => void submit(e)}
      footer={
        // Only when the daemon says no admin exists yet; unknown (older daemon, network) offers nothing.


          <Show when={setup.data?.setupComplete === false}>
            <p class="muted">
              First run? <A href="/setup">Set up the first admin</A>.
            </p>
          </Show>

      }
    >
      <TextField
        label="Username"
        name="username"
        autocomplete="username"
        required
        value={username()}
        onValue={setUsername}
        error={issues()["username"]}
        autofocus
      />
      <TextField
        label="Password"
        name="password"
        type="password"
        autocomplete="current-password"
        required
        value={password()}
        onValue={setPassword}
        error={issues()["password"]}
      />
    </AuthCard>
  )
}
