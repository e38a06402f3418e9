/** Setup and login forms: labels, local checks before any request, and safe redirects after login. */
import { MemoryRouter, Route, createMemoryHistory } from "@solidjs/router"
import { cleanup, fireEvent, render, screen } from "@solidjs/testing-library"
import { afterEach, describe, expect, it } from "vitest"
import Login, { safeNext } from "../../../console/src/pages/Login.js"
import Setup from "../../../console/src/pages/Setup.js"

afterEach(cleanup)

const at = (path: string, component: () => ReturnType<typeof Setup>) => {
  const history = createMemoryHistory()
  history.set({ value: path })
  render(() => (
    <MemoryRouter history={history}>
      <Route path={path.split("?")[0] ?? "/"} component={component} />
    </MemoryRouter>
  ))
}

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

describe("login form", () => {
  it("has labelled inputs with the right autocomplete hints and a link to setup", async () => {
    at("/login", Login)
    expect((await screen.findByLabelText("Username")).getAttribute("autocomplete")).toBe("username")
    expect(screen.getByLabelText("Password").getAttribute("autocomplete")).toBe("current-password")
    expect(screen.getByRole("link", { name: "Set up the first admin" }).getAttribute("href")).toBe("/setup")
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
