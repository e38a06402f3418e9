/** Sign in with a username and password; the session token goes to sessionStorage. */
import { A, useNavigate, useSearchParams } from "@solidjs/router"
import { Show, createSignal } from "solid-js"
import { call } from "../api/client.js"
import { type ApiFailure, issuesByField, toApiFailure } from "../api/failure.js"
import { TextField } from "../components/Field.js"
import { FormError } from "../components/States.js"
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

export default function Login() {
  const navigate = useNavigate()
  const [params] = useSearchParams()
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
    <div class="auth-page">
      <form class="card auth-card" onSubmit={submit} aria-labelledby="login-title" novalidate>
        <h1 id="login-title">Sign in to Denia</h1>
        <FormError message={formMessage()} />
        <TextField label="Username" name="username" autocomplete="username" required value={username()} onValue={setUsername} error={issues()["username"]} autofocus />
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
        <button type="submit" class="btn btn-primary" disabled={busy()}>
          {busy() ? "Signing in…" : "Sign in"}
        </button>
        <Show when={params["expired"] !== undefined}>
          <p class="muted">Your session ended; sign in again.</p>
        </Show>
        <p class="muted">
          First run? <A href="/setup">Set up the first admin</A>.
        </p>
      </form>
    </div>
  )
}
