/** Session and theme stores, and the shared loading/error/empty states. */
import { cleanup, render, screen } from "@solidjs/testing-library"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { ApiFailure } from "../../../console/src/api/failure.js"
import { Empty, ErrorState, Loading } from "../../../console/src/components/States.js"
import { createSessionStore } from "../../../console/src/state/session.js"
import { setTheme, theme, toggleTheme } from "../../../console/src/state/theme.js"

beforeEach(() => {
  sessionStorage.clear()
  localStorage.clear()
})
afterEach(cleanup)

describe("session store", () => {
  it("keeps the session in sessionStorage only, and forgets it on sign-out", () => {
    const store = createSessionStore()
    expect(store.token()).toBeUndefined()
    store.signIn({ token: "tok", expiresAt: new Date(Date.now() + 60_000).toISOString(), username: "ops" })
    expect(store.token()).toBe("tok")
    expect(JSON.parse(sessionStorage.getItem("denia.session") ?? "{}")).toMatchObject({ token: "tok", username: "ops" })
    expect(localStorage.length).toBe(0)
    // A new page load (new store) picks the session up again.
    expect(createSessionStore().token()).toBe("tok")
    store.signOut()
    expect(store.token()).toBeUndefined()
    expect(sessionStorage.getItem("denia.session")).toBeNull()
  })

  it("treats an expired or malformed stored session as signed out", () => {
    let now = Date.now()
    const store = createSessionStore(() => now)
    store.signIn({ token: "tok", expiresAt: new Date(now + 1_000).toISOString(), username: "ops" })
    now += 2_000
    expect(store.token()).toBeUndefined()
    expect(createSessionStore(() => now).session()).toBeUndefined()
    sessionStorage.setItem("denia.session", "{not json")
    expect(createSessionStore().session()).toBeUndefined()
    sessionStorage.setItem("denia.session", JSON.stringify({ token: 1 }))
    expect(createSessionStore().session()).toBeUndefined()
  })
})

describe("theme", () => {
  it("toggles light/dark on <html> and remembers the choice", () => {
    setTheme("light")
    expect(document.documentElement.dataset["theme"]).toBe("light")
    toggleTheme()
    expect(theme()).toBe("dark")
    expect(document.documentElement.dataset["theme"]).toBe("dark")
    expect(localStorage.getItem("denia.theme")).toBe("dark")
  })
})

describe("states", () => {
  it("announces loading politely and errors as alerts with a retry", () => {
    let retried = 0
    render(() => (
      <>
        <Loading label="Loading projects…" />
        <ErrorState error={new ApiFailure(403, "FORBIDDEN", "needs the admin role")} retry={() => retried++} />
        <Empty title="No projects yet" />
      </>
    ))
    expect(screen.getByRole("status").textContent).toContain("Loading projects…")
    const alert = screen.getByRole("alert")
    expect(alert.textContent).toContain("You don't have access to this. needs the admin role")
    screen.getByRole("button", { name: "Try again" }).click()
    expect(retried).toBe(1)
    expect(screen.getByText("No projects yet")).toBeTruthy()
  })
})
