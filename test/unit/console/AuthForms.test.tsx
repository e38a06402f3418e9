/**
 * Setup and login forms: labels, local checks before any request, safe
 * redirects after login, and first-run setup offered only while the daemon's
 * public `GET /v1/setup-status` says no admin exists.
 */
import { cleanup, fireEvent, screen, waitFor } from "@solidjs/testing-library"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import Login, { safeNext } from "../../../console/src/pages/Login.js"
import Setup from "../../../console/src/pages/Setup.js"
import { fakeDaemon, renderAt } from "./support.js"

let setupComplete: boolean | undefined = false
let daemon: ReturnType<typeof fakeDaemon>
beforeEach(() => {
  setupComplete = false
  daemon = fakeDaemon((r) => (r.path === "/v1/setup-status" && setupComplete !== undefined ? { json: { setupComplete } } : undefined))
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const at = (path: string, component: typeof Setup) => renderAt(path, path.split("?")[0] ?? "/", component)

describe("setup form", () => {
  it("asks for the admin token before sending anything", async () => {
    at("/setup", Setup)
    fireEvent.click(await screen.findByRole("button", { name: "Create admin and sign in" }))
    const token = screen.getByLabelText("Admin token")
    expect(token.getAttribute("aria-invalid")).toBe("true")
    expect(screen.getByText(/Enter the admin token/)).toBeTruthy()
    expect(token.getAttribute("type")).toBe("password")
  })

  it("refuses mismatched passwords under the confirmation field", async () => {
    at("/setup", Setup)
    fireEvent.input(await screen.findByLabelText("Admin token"), { target: { value: "t".repeat(64) } })
    fireEvent.input(screen.getByLabelText("Password"), { target: { value: "correct-horse-battery" } })
    fireEvent.input(screen.getByLabelText("Confirm password"), { target: { value: "correct-horse-battern" } })
    fireEvent.click(screen.getByRole("button", { name: "Create admin and sign in" }))
    expect(screen.getByText("The passwords do not match.")).toBeTruthy()
    expect(screen.getByLabelText("Confirm password").getAttribute("aria-invalid")).toBe("true")
    expect(screen.getByLabelText("Admin token").getAttribute("aria-invalid")).toBe("false")
  })
})

describe("setup page once set up", () => {
  it("says so and points to sign-in instead of showing the form", async () => {
    setupComplete = true
    at("/setup", Setup)
    await screen.findByRole("heading", { name: "Denia is already set up" })
    expect(screen.getByRole("link", { name: "Go to sign in" }).getAttribute("href")).toBe("/login")
    expect(screen.queryByLabelText("Admin token")).toBeNull()
  })
})

describe("login form", () => {
  it("has labelled inputs with the right autocomplete hints and, before any admin exists, a link to setup", async () => {
    at("/login", Login)
    expect((await screen.findByLabelText("Username")).getAttribute("autocomplete")).toBe("username")
    expect(screen.getByLabelText("Password").getAttribute("autocomplete")).toBe("current-password")
    expect((await screen.findByRole("link", { name: "Set up the first admin" })).getAttribute("href")).toBe("/setup")
    // Asked without a bearer token: the route is public.
    expect(daemon.find("GET", "/v1/setup-status")).toHaveLength(1)
  })

  it("stops offering setup once an admin exists, and when the daemon cannot say", async () => {
    setupComplete = true
    at("/login", Login)
    await screen.findByLabelText("Username")
    await waitFor(() => expect(daemon.find("GET", "/v1/setup-status")).toHaveLength(1))
    await new Promise((r) => setTimeout(r, 20))
    expect(screen.queryByRole("link", { name: "Set up the first admin" })).toBeNull()
    expect(screen.queryByText(/First run/)).toBeNull()
    cleanup()
    setupComplete = undefined // an older daemon: 404
    at("/login", Login)
    await waitFor(() => expect(daemon.find("GET", "/v1/setup-status")).toHaveLength(2))
    await new Promise((r) => setTimeout(r, 20))
    expect(screen.queryByRole("link", { name: "Set up the first admin" })).toBeNull()
  })

  it("says why the user is back on the login page", async () => {
    at("/login?changed=1", Login)
    expect((await screen.findByRole("status")).textContent).toBe("Password changed. Sign in with the new password.")
    cleanup()
    at("/login?expired=1", Login)
    expect((await screen.findByRole("status")).textContent).toBe("Your session ended; sign in again.")
  })

  it("only follows same-origin app paths after login", () => {
    expect(safeNext("/services/abc")).toBe("/services/abc")
    expect(safeNext(undefined)).toBe("/projects")
    expect(safeNext("//evil.example/x")).toBe("/projects")
    expect(safeNext("https://evil.example/")).toBe("/projects")
    expect(safeNext("/login?next=/x")).toBe("/projects")
    expect(safeNext(["/projects/1", "/x"])).toBe("/projects/1")
  })
})
