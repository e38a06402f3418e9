/** Self-service password change, the audit log and the hosted-registry page, against a fake daemon. */
import { cleanup, fireEvent, screen, waitFor, within } from "@solidjs/testing-library"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import Audit from "../../../console/src/pages/Audit.js"
import Login from "../../../console/src/pages/Login.js"
import Password from "../../../console/src/pages/Password.js"
import Registry from "../../../console/src/pages/Registry.js"
import { sessionStore } from "../../../console/src/state/session.js"
import { fakeDaemon, ids, NOW, type Recorded, renderAt, type Reply, superAdminMe } from "./support.js"

beforeEach(() => {
  sessionStorage.clear()
  sessionStore.signIn({ token: "session-token", expiresAt: new Date(Date.now() + 3_600_000).toISOString(), username: "root-admin" })
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
  sessionStore.signOut()
})

const withMe = (me: unknown, route: (r: Recorded) => Reply | undefined) =>
  fakeDaemon((r) => (r.path === "/v1/me" ? { json: me } : route(r)))

/**
 * A daemon that keeps one user's password: `POST /v1/me/password` checks the current one (400 naming
 * `currentPassword` otherwise, 429 once `throttled`), login checks against whatever is current.
 */
const passwordDaemon = (me: unknown = superAdminMe) => {
  const text = (body: unknown, key: string): unknown => (typeof body === "object" && body !== null ? Reflect.get(body, key) : undefined)
  const state = { password: "the-old-password", throttled: false }
  const d = withMe(me, (r) => {
    if (r.method === "POST" && r.path === "/v1/me/password") {
      if (state.throttled) {
        return {
          status: 429,
          json: { error: { code: "RATE_LIMITED", message: "too many login requests; retry in 42 s", details: { retryAfterSeconds: 42 } } }
        }
      }
      if (text(r.body, "currentPassword") !== state.password) {
        return {
          status: 400,
          json: {
            error: {
              code: "INVALID_FIELD",
              message: "currentPassword: does not match your current password",
              details: { field: "currentPassword" }
            }
          }
        }
      }
      state.password = String(text(r.body, "newPassword"))
      return { status: 204 }
    }
    if (r.method === "POST" && r.path === "/v1/auth/login") {
      return text(r.body, "password") === state.password
        ? { json: { token: "new-session-token", expiresAt: new Date(Date.now() + 3_600_000).toISOString() } }
        : { status: 401, json: { error: { code: "INVALID_CREDENTIALS", message: "wrong username or password" } } }
    }
    if (r.path === "/v1/setup-status") return { json: { setupComplete: true } }
    return undefined
  })
  return { ...d, state }
}
const Projects = () => <h1>Projects</h1>

const fillPasswordForm = (current: string, next: string, confirm = next) => {
  fireEvent.input(screen.getByLabelText("Current password"), { target: { value: current } })
  fireEvent.input(screen.getByLabelText("New password"), { target: { value: next } })
  fireEvent.input(screen.getByLabelText("Confirm new password"), { target: { value: confirm } })
  fireEvent.click(screen.getByRole("button", { name: "Change password" }))
}

describe("password change", () => {
  it("names a wrong current password under its input, then changes it, stays signed in, and the new password signs in", async () => {
    const d = passwordDaemon({ ...superAdminMe, superAdmin: false, user: { ...superAdminMe.user, superAdmin: false } })
    const { history } = renderAt("/account/password", "/account/password", Password, { "/login": Login, "/projects": Projects })
    await screen.findByLabelText("Current password")
    expect(screen.getByLabelText("Current password").getAttribute("autocomplete")).toBe("current-password")
    expect(screen.queryByText(/super-admins/)).toBeNull()

    fillPasswordForm("not-the-password", "a-brand-new-password")
    const current = screen.getByLabelText("Current password")
    await waitFor(() => expect(current.getAttribute("aria-invalid")).toBe("true"))
    const errorId = current.getAttribute("aria-describedby") ?? ""
    expect(document.getElementById(errorId)?.textContent).toBe("does not match your current password")
    expect(screen.getByLabelText("New password").getAttribute("aria-invalid")).toBe("false")
    expect(screen.queryByRole("status")).toBeNull()
    expect(d.state.password).toBe("the-old-password")

    fillPasswordForm("the-old-password", "a-brand-new-password")
    const done = await screen.findByRole("status")
    expect(done.textContent).toContain("Password changed.")
    expect(done.textContent).toContain("other sessions were signed out and your API tokens were revoked")
    expect(d.find("POST", "/v1/me/password").map((c) => c.body)).toEqual([
      { currentPassword: "not-the-password", newPassword: "a-brand-new-password", keepTokens: false },
      { currentPassword: "the-old-password", newPassword: "a-brand-new-password", keepTokens: false }
    ])
    // No sign-out: this session is still the console's, and nothing was logged out or redirected.
    expect(history.get()).toBe("/account/password")
    expect(sessionStore.token()).toBe("session-token")
    expect(d.find("POST", "/v1/auth/logout")).toEqual([])
    expect(d.unauthorized).toEqual([])
    expect(screen.getByLabelText("Current password").getAttribute("aria-invalid")).toBe("false")
    expect(screen.getByLabelText<HTMLInputElement>("New password").value).toBe("")

    // Later, signed out: the old password no longer signs in, the new one does.
    sessionStore.signOut()
    history.set({ value: "/login" })
    fireEvent.input(await screen.findByLabelText("Username"), { target: { value: "root-admin" } })
    fireEvent.input(screen.getByLabelText("Password"), { target: { value: "the-old-password" } })
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }))
    await screen.findByRole("alert")
    expect(sessionStore.token()).toBeUndefined()
    fireEvent.input(screen.getByLabelText("Password"), { target: { value: "a-brand-new-password" } })
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }))
    await screen.findByRole("heading", { name: "Projects" })
    expect(sessionStore.token()).toBe("new-session-token")
  })

  it("keeps API tokens when asked and says so", async () => {
    const d = passwordDaemon()
    renderAt("/account/password", "/account/password", Password)
    await screen.findByLabelText("Current password")
    fireEvent.click(screen.getByLabelText(/^Keep my API tokens/))
    fillPasswordForm("the-old-password", "a-brand-new-password")
    expect((await screen.findByRole("status")).textContent).toContain("other sessions were signed out; your API tokens still work")
    expect(d.find("POST", "/v1/me/password").map((c) => c.body)).toEqual([{
      currentPassword: "the-old-password",
      newPassword: "a-brand-new-password",
      keepTokens: true
    }])
  })

  it("checks the confirmation and the new password's length before sending, and explains the throttle", async () => {
    const d = passwordDaemon()
    renderAt("/account/password", "/account/password", Password)
    await screen.findByLabelText("Current password")
    fillPasswordForm("the-old-password", "a-brand-new-password", "a-brand-new-passwore")
    expect(screen.getByText("The passwords do not match.")).toBeTruthy()
    expect(screen.getByLabelText("Confirm new password").getAttribute("aria-invalid")).toBe("true")
    fillPasswordForm("the-old-password", "too-short", "too-short")
    await waitFor(() => expect(screen.getByLabelText("New password").getAttribute("aria-invalid")).toBe("true"))
    expect(screen.getByText("must be at least 12 characters")).toBeTruthy()
    expect(d.find("POST", "/v1/me/password")).toEqual([])

    d.state.throttled = true
    fillPasswordForm("the-old-password", "a-brand-new-password")
    await waitFor(() => expect(document.querySelector(".form-error")?.textContent).toContain("Too many attempts"))
    expect(document.querySelector(".form-error")?.textContent).toContain("retry in 42 s")
    expect(screen.getByLabelText("Current password").getAttribute("aria-invalid")).toBe("false")
    expect(screen.queryByRole("status")).toBeNull()
    expect(sessionStore.token()).toBe("session-token")
  })

  it("tells a session of the admin token that it has no password", async () => {
    const d = passwordDaemon({ ...superAdminMe, user: null, credential: "adminToken" })
    renderAt("/account/password", "/account/password", Password)
    await screen.findByText(/admin token, which has no password/)
    expect(screen.queryByLabelText("Current password")).toBeNull()
    expect(d.find("POST", "/v1/me/password")).toEqual([])
  })
})

const entry = (n: number) => ({
  id: `0190aaaa-0000-7000-8000-${String(n).padStart(12, "0")}`,
  at: NOW,
  actor: "user:root-admin",
  action: n === 1 ? "login" : `action-${n}`,
  target: n === 1 ? null : `service:web`,
  outcome: n === 2 ? "denied" : "ok",
  clientIp: "127.0.0.1",
  details: n === 3 ? { tag: "v1" } : null
})

describe("audit log", () => {
  it("pages with the API's cursor, newer and older", async () => {
    const d = withMe(superAdminMe, (r) => {
      if (r.path !== "/v1/audit") return undefined
      return r.search.get("cursor") === null
        ? { json: { items: [entry(1), entry(2), entry(3)], nextCursor: entry(3).id } }
        : { json: { items: [entry(4)] } }
    })
    renderAt("/audit", "/audit", Audit)
    await screen.findByText("login")
    expect(screen.getByText("tag=v1")).toBeTruthy()
    expect(screen.getByText("denied")).toBeTruthy()
    expect(screen.getByRole("button", { name: "Newer" }).hasAttribute("disabled")).toBe(true)
    fireEvent.click(screen.getByRole("button", { name: "Older" }))
    await screen.findByText("action-4")
    expect(d.find("GET", "/v1/audit").map((c) => [c.search.get("cursor"), c.search.get("limit")])).toEqual([
      [null, "50"],
      [entry(3).id, "50"]
    ])
    expect(screen.getByRole("button", { name: "Older" }).hasAttribute("disabled")).toBe(true)
    fireEvent.click(screen.getByRole("button", { name: "Newer" }))
    await screen.findByText("login")
  })

  it("is only for super-admins", async () => {
    const d = withMe({ ...superAdminMe, superAdmin: false }, () => undefined)
    renderAt("/audit", "/audit", Audit)
    await screen.findByText("Only super-admins can read the audit log.")
    expect(d.find("GET", "/v1/audit")).toEqual([])
  })
})

describe("registry page", () => {
  it("lists hosted repositories, their tags on demand and push commands for this host", async () => {
    const d = withMe(superAdminMe, (r) => {
      if (r.path === "/v1/registry/repositories") {
        return {
          json: { items: [{ name: "default/web", projectId: ids.project, serviceId: ids.service, tags: 2, manifests: 2, updatedAt: NOW }] }
        }
      }
      if (r.path === "/v2/default/web/tags/list") return { json: { name: "default/web", tags: ["v1", "v2"] } }
      return undefined
    })
    renderAt("/registry", "/registry", Registry)
    const row = await waitFor(() => {
      const el = document.querySelector<HTMLElement>("tr[data-repository=\"default/web\"]")
      expect(el).not.toBeNull()
      return el as HTMLElement
    })
    expect(within(row).getByRole("link", { name: "default/web" }).getAttribute("href")).toBe(`/services/${ids.service}`)
    fireEvent.click(within(row).getByRole("button", { name: "Tags and push" }))
    const tags = await screen.findByRole("list", { name: "Tags of default/web" })
    expect(within(tags).getAllByRole("listitem").map((li) => li.textContent)).toEqual(["v1", "v2"])
    const push = screen.getByRole("region", { name: "Push to default/web" })
    const skopeo = within(push).getByLabelText("skopeo push to default/web").textContent ?? ""
    // jsdom's page is plain http, so TLS verification is off for the push.
    expect(skopeo).toBe(
      `skopeo copy --dest-tls-verify=false --dest-creds x:<token> docker-archive:image.tar docker://${window.location.host}/default/web:v1`
    )
    expect(d.find("GET", "/v2/default/web/tags/list")).toHaveLength(1)
  })
})
