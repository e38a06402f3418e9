/** Password change, the audit log and the hosted-registry page, against a fake daemon. */
import { cleanup, fireEvent, screen, waitFor, within } from "@solidjs/testing-library"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import Audit from "../../../console/src/pages/Audit.js"
import Password from "../../../console/src/pages/Password.js"
import Registry from "../../../console/src/pages/Registry.js"
import { sessionStore } from "../../../console/src/state/session.js"
import { NOW, fakeDaemon, ids, renderAt, superAdminMe, type Recorded, type Reply } from "./support.js"

beforeEach(() => {
  sessionStorage.clear()
  sessionStore.signIn({ token: "session-token", expiresAt: new Date(Date.now() + 3_600_000).toISOString(), username: "root-admin" })
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
  sessionStore.signOut()
})

const withMe = (me: unknown, route: (r: Recorded) => Reply | undefined) => fakeDaemon((r) => (r.path === "/v1/me" ? { json: me } : route(r)))
const Landing = () => <h1>Sign in to Denia</h1>

describe("password change", () => {
  it("sends the new password for the signed-in user, then signs out and returns to login with a message", async () => {
    const d = withMe(superAdminMe, (r) => {
      if (r.method === "PATCH" && r.path === `/v1/users/${ids.user}`) return { json: superAdminMe.user }
      if (r.path === "/v1/auth/logout") return { status: 401, json: { error: { code: "UNAUTHORIZED", message: "session revoked" } } }
      return undefined
    })
    const { history } = renderAt("/account/password", "/account/password", Password, { "/login": Landing })
    fireEvent.input(await screen.findByLabelText("New password"), { target: { value: "a-brand-new-password" } })
    fireEvent.input(screen.getByLabelText("Confirm new password"), { target: { value: "a-brand-new-password" } })
    fireEvent.click(screen.getByRole("button", { name: "Change password" }))
    await screen.findByRole("heading", { name: "Sign in to Denia" })
    expect(history.get()).toBe("/login?changed=1")
    expect(d.find("PATCH", `/v1/users/${ids.user}`).map((c) => c.body)).toEqual([{ password: "a-brand-new-password" }])
    expect(sessionStore.token()).toBeUndefined()
    // The revoked session's 401 on logout is expected, not a second "session ended" redirect.
    expect(d.unauthorized).toEqual([])
  })

  it("checks the confirmation locally and explains a refusal", async () => {
    const d = withMe({ ...superAdminMe, superAdmin: false, user: { ...superAdminMe.user, superAdmin: false } }, (r) =>
      r.method === "PATCH" ? { status: 403, json: { error: { code: "FORBIDDEN", message: "needs a super-admin" } } } : undefined
    )
    renderAt("/account/password", "/account/password", Password)
    fireEvent.input(await screen.findByLabelText("New password"), { target: { value: "a-brand-new-password" } })
    fireEvent.input(screen.getByLabelText("Confirm new password"), { target: { value: "a-brand-new-passwore" } })
    fireEvent.click(screen.getByRole("button", { name: "Change password" }))
    expect(screen.getByText("The passwords do not match.")).toBeTruthy()
    expect(d.find("PATCH", `/v1/users/${ids.user}`)).toEqual([])
    fireEvent.input(screen.getByLabelText("Confirm new password"), { target: { value: "a-brand-new-password" } })
    fireEvent.click(screen.getByRole("button", { name: "Change password" }))
    expect((await screen.findByRole("alert")).textContent).toContain("lets only super-admins change passwords")
    expect(sessionStore.token()).toBe("session-token")
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
      return r.search.get("cursor") === null ? { json: { items: [entry(1), entry(2), entry(3)], nextCursor: entry(3).id } } : { json: { items: [entry(4)] } }
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
      if (r.path === "/v1/registry/repositories")
        return { json: { items: [{ name: "default/web", projectId: ids.project, serviceId: ids.service, tags: 2, manifests: 2, updatedAt: NOW }] } }
      if (r.path === "/v2/default/web/tags/list") return { json: { name: "default/web", tags: ["v1", "v2"] } }
      return undefined
    })
    renderAt("/registry", "/registry", Registry)
    const row = await waitFor(() => {
      const el = document.querySelector<HTMLElement>('tr[data-repository="default/web"]')
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
    expect(skopeo).toBe(`skopeo copy --dest-tls-verify=false --dest-creds x:<token> docker-archive:image.tar docker://${window.location.host}/default/web:v1`)
    expect(d.find("GET", "/v2/default/web/tags/list")).toHaveLength(1)
  })
})
