/**
 * The web console in real Chromium against a real daemon serving the built
 * console: first-run setup (offered on the login page only before an admin
 * exists) → (logout) → login → create project → create service → see it
 * listed → open its detail page → secrets → the audit log and registry pages
 * → the services page at 390 px → password change (wrong current password,
 * then success, staying signed in) → sign-in with the new one. Screenshots of each page
 * go to test-results/console/.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_TOKEN, repoRoot, startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { CHROMIUM, launchChromium, type LaunchedBrowser, screenshotPath } from "./browser.js"

const distIndex = path.join(repoRoot, "console", "dist", "index.html")
const PASSWORD = "correct-horse-battery"
const NEW_PASSWORD = "a-different-horse-battery"
const PHONE = { width: 390, height: 844 }

describe("web console in Chromium", () => {
  let daemon: TestDaemon
  let launched: LaunchedBrowser
  let page: Page
  const consoleErrors: Array<string> = []

  beforeAll(async () => {
    if (!fs.existsSync(distIndex)) throw new Error("console/dist is missing: run `npm run build:console` (npm test builds it first)")
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (listed in .ci/apt-packages)`)
    daemon = await startTestDaemon()
    launched = await launchChromium()
    page = launched.context.pages()[0] ?? (await launched.context.newPage())
    page.setDefaultTimeout(60_000)
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text())
    })
    page.on("pageerror", (e) => consoleErrors.push(e.message))
    if (process.env["DBG"]) page.on("console", (m) => console.log("CONSOLE", m.text()))
    if (process.env["DBG"]) page.on("response", (r) => console.log("RESP", r.status(), r.request().method(), r.url()))
  })

  afterAll(async () => {
    await launched?.close()
    await daemon?.stop()
  })

  it("walks from first-run setup to a service's detail page", async () => {
    try {
      await walkthrough()
    } catch (e) {
      // Keep the page as it was for whoever reads the failure, then fail as before.
      await page.screenshot({ path: screenshotPath("failure"), fullPage: true }).catch(() => undefined)
      throw new Error(`${String(e)}\nbrowser console errors: ${JSON.stringify(consoleErrors)}`)
    }
    // A generous bound: the whole walk takes ~10 s alone, more beside the rest of the suite on two cores.
  }, 240_000)

  let serviceRef: { id: string; projectId: string } | undefined

  /** A viewer member, in a tab of their own (own sessionStorage), gets no operator controls and redacted env. */
  const viewerSeesReadOnly = async (serviceName: string) => {
    if (serviceRef === undefined) throw new Error("no service")
    await daemon.request(`/v1/services/${serviceRef.id}`, { method: "PATCH", json: { env: { DATABASE_PASSWORD: "hunter2-hunter2" } } })
    const user =
      (await (await daemon.request("/v1/users", { method: "POST", json: { username: "viewer1", password: PASSWORD } })).json()) as {
        id: string
      }
    const member = await daemon.request(`/v1/projects/${serviceRef.projectId}/members`, {
      method: "POST",
      json: { userId: user.id, role: "viewer" }
    })
    expect(member.status).toBe(201)
    const tab = await launched.context.newPage()
    tab.setDefaultTimeout(60_000)
    try {
      await tab.goto(`${daemon.url}/services/${serviceRef.id}`)
      await tab.getByRole("heading", { name: "Sign in to Denia" }).waitFor()
      await tab.getByLabel("Username").fill("viewer1")
      await tab.getByLabel("Password").fill(PASSWORD)
      await tab.getByRole("button", { name: "Sign in" }).click()
      // Back where they were going, read-only.
      await tab.getByRole("heading", { name: serviceName, exact: true }).waitFor()
      await tab.getByRole("heading", { name: "Environment" }).waitFor()
      await tab.getByText("<redacted>").waitFor()
      expect(await tab.getByText("hunter2-hunter2").count()).toBe(0)
      expect(await tab.getByRole("group", { name: "Service actions" }).count()).toBe(0)
      expect(await tab.getByRole("link", { name: "Edit" }).count()).toBe(0)
      expect(await tab.getByRole("heading", { name: "Service log" }).count()).toBe(0)
      expect(await tab.getByRole("button", { name: "Attach domain" }).count()).toBe(0)
      await tab.screenshot({ path: screenshotPath("08-viewer-service"), fullPage: true })
    } finally {
      await tab.close()
    }
  }

  const walkthrough = async () => {
    // First run: the login page offers setup (nobody exists yet, says the public setup status).
    const setupStatus = async () =>
      ((await (await daemon.request("/v1/setup-status", { token: null })).json()) as { setupComplete: boolean }).setupComplete
    expect(await setupStatus()).toBe(false)
    await page.goto(`${daemon.url}/login`)
    await page.getByRole("link", { name: "Set up the first admin" }).click()
    // The admin token bootstraps the first admin and signs in.
    await page.getByRole("heading", { name: "Set up Denia" }).waitFor()
    await page.screenshot({ path: screenshotPath("01-setup"), fullPage: true })
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN)
    await page.getByLabel("Admin username").fill("root-admin")
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD)
    await page.getByLabel("Confirm password").fill(PASSWORD)
    await page.getByRole("button", { name: "Create admin and sign in" }).click()
    await page.getByRole("heading", { name: "Projects" }).waitFor()
    expect(new URL(page.url()).pathname).toBe("/projects")
    // Bootstrap also made the "default" project.
    await page.getByRole("link", { name: "default" }).waitFor()
    await expect(page.getByTestId("username").textContent()).resolves.toBe("root-admin")

    expect(await setupStatus()).toBe(true)

    // Log out, then log in with the new account; setup is no longer offered.
    const statusSeen = page.waitForResponse((r) => r.url().endsWith("/v1/setup-status"))
    await page.getByRole("button", { name: "Log out" }).click()
    await page.getByRole("heading", { name: "Sign in to Denia" }).waitFor()
    // The login page asked the daemon (the cache was cleared on logout) before we look for the link.
    expect(((await (await statusSeen).json()) as { setupComplete: boolean }).setupComplete).toBe(true)
    expect(await page.getByRole("link", { name: "Set up the first admin" }).count()).toBe(0)
    expect(await page.getByText("First run?").count()).toBe(0)
    await page.goto(`${daemon.url}/setup`)
    await page.getByRole("heading", { name: "Denia is already set up" }).waitFor()
    await page.getByRole("link", { name: "Go to sign in" }).click()
    await page.getByRole("heading", { name: "Sign in to Denia" }).waitFor()
    await page.getByLabel("Username").fill("root-admin")
    await page.getByLabel("Password").fill("wrong password!!")
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByText("Wrong username or password.").waitFor()
    await page.getByLabel("Password").fill(PASSWORD)
    await page.screenshot({ path: screenshotPath("02-login"), fullPage: true })
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("heading", { name: "Projects" }).waitFor()
    const stored = await page.evaluate("sessionStorage.getItem('denia.session')")
    expect(stored).toContain("\"username\":\"root-admin\"")

    // Create a project; an invalid name is refused inline first.
    await page.getByRole("button", { name: "New project" }).click()
    await page.getByLabel("Project name").fill("Bad Name")
    await page.getByRole("button", { name: "Create project" }).click()
    await page.locator(".field-error").first().waitFor()
    expect(await page.getByLabel("Project name").getAttribute("aria-invalid")).toBe("true")
    await page.getByLabel("Project name").fill("shop")
    await page.getByRole("button", { name: "Create project" }).click()
    await page.getByRole("heading", { name: "shop" }).waitFor()
    await page.getByRole("heading", { name: "Members" }).waitFor()

    // Registry credentials: a missing password is named under its input; then it is listed without secrets.
    const registries = page.getByRole("region", { name: "Registries" })
    await registries.getByLabel("Registry name").fill("ghcr")
    await registries.getByLabel("Endpoint").fill("ghcr.io")
    await registries.getByLabel("Credentials").selectOption("basic")
    await registries.getByLabel("Registry username").fill("robot")
    await registries.getByRole("button", { name: "Add registry" }).click()
    await registries.locator(".field-invalid").first().waitFor()
    expect(await registries.getByLabel("Registry password").getAttribute("aria-invalid")).toBe("true")
    await registries.getByLabel("Registry password").fill("s3cret-pull-password")
    await registries.getByRole("button", { name: "Add registry" }).click()
    await registries.getByText("basic (robot)").waitFor()
    expect(await registries.textContent()).not.toContain("s3cret-pull-password")
    await page.screenshot({ path: screenshotPath("03-project"), fullPage: true })

    // Create a service from the project page.
    await page.getByRole("link", { name: "New service" }).click()
    await page.getByRole("heading", { name: "New service" }).waitFor()
    await page.getByLabel("Name", { exact: true }).fill("api")
    await page.getByRole("textbox", { name: "Port", exact: true }).fill("70000")
    await page.getByLabel("Image reference").fill("registry.example/app:1.2")
    await page.getByRole("button", { name: "Create service" }).click()
    // The API schema (checked by the typed client) names the field; the error sits under its input.
    await page.getByText("port must be between 1 and 65535").waitFor()
    expect(await page.getByRole("textbox", { name: "Port", exact: true }).getAttribute("aria-invalid")).toBe("true")
    await page.screenshot({ path: screenshotPath("04-service-form-errors"), fullPage: true })
    await page.getByRole("textbox", { name: "Port", exact: true }).fill("8080")
    await page.getByRole("button", { name: "Create service" }).click()
    await page.getByRole("heading", { name: "api", exact: true }).waitFor()
    await page.getByRole("heading", { name: "Deployments" }).waitFor()

    // It is listed on the services page with its default URL.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Services" }).click()
    await page.getByRole("heading", { name: "Services" }).waitFor()
    const row = page.locator("tr[data-service='api']")
    await row.waitFor()
    await row.getByText("http://api.shop.localhost").waitFor()
    await row.getByText("never deployed").waitFor()
    await page.screenshot({ path: screenshotPath("05-services"), fullPage: true })

    // Detail page, reached again through the list (and surviving a reload: the daemon serves the shell).
    await row.getByRole("link", { name: "api", exact: true }).click()
    await page.getByRole("heading", { name: "Overview" }).waitFor()
    await page.reload()
    await page.getByRole("heading", { name: "Overview" }).waitFor()
    await page.getByText("No deployments yet").waitFor()
    await page.getByText("image: registry.example/app:1.2").first().waitFor()
    // Nothing runs yet: neither Start nor Stop applies.
    const actions = page.getByRole("group", { name: "Service actions" })
    expect(await actions.getByRole("button", { name: "Start", exact: true }).isDisabled()).toBe(true)
    expect(await actions.getByRole("button", { name: "Stop", exact: true }).isDisabled()).toBe(true)
    await page.screenshot({ path: screenshotPath("06-service-detail"), fullPage: true })

    // Deploy: the API accepts it (202), the deployment is listed and its log opens and follows.
    await page.getByRole("group", { name: "Service actions" }).getByRole("button", { name: "Deploy" }).click()
    await page.getByText(/^Deploy: accepted/).waitFor()
    await page.locator("#deployments tbody tr").first().waitFor()
    await page.getByRole("log", { name: "Deployment log" }).waitFor()
    await page.getByRole("button", { name: "Hide log" }).waitFor()
    await page.screenshot({ path: screenshotPath("06b-service-deploy"), fullPage: true })
    // The image cannot be pulled on this closed network: once the log ends, the row shows the outcome without a reload.
    await page.locator(".live-log-head").getByText(/^ended/).waitFor()
    await page.locator("#deployments tbody tr").first().locator(".status", { hasText: /^failed$/ }).waitFor()
    // Its only deployment failed: nothing to start or stop, deploy again instead.
    await page.locator("#overview").getByText("failed", { exact: true }).waitFor()
    expect(await actions.getByRole("button", { name: "Start", exact: true }).isDisabled()).toBe(true)
    expect(await actions.getByRole("button", { name: "Stop", exact: true }).isDisabled()).toBe(true)

    // Secrets: set one (value never shown back), see it listed, remove it.
    const secrets = page.getByRole("region", { name: "Secrets" })
    await secrets.getByText("No secrets.").waitFor()
    await secrets.getByLabel("Secret name").fill("API_KEY")
    await secrets.getByLabel("Secret value").fill("sk-live-do-not-show")
    await secrets.getByRole("button", { name: "Set secret" }).click()
    await secrets.getByRole("cell", { name: "API_KEY", exact: true }).waitFor()
    expect(await secrets.textContent()).not.toContain("sk-live-do-not-show")
    expect(await secrets.getByLabel("Secret value").inputValue()).toBe("")
    const listed = (await (await daemon.request(`/v1/services/${new URL(page.url()).pathname.split("/")[2] ?? ""}/secrets`)).json()) as {
      items: Array<{ name: string }>
    }
    expect(listed.items.map((i) => i.name)).toEqual(["API_KEY"])
    await page.screenshot({ path: screenshotPath("06c-service-secrets"), fullPage: true })
    await secrets.getByRole("button", { name: "Remove secret API_KEY" }).click()
    await secrets.getByText("No secrets.").waitFor()

    // Domains: the API's refusal shows under the input; a valid name is listed as pending.
    const domains = page.getByRole("region", { name: "Domains" })
    await domains.getByLabel("Hostname").fill("localhost")
    await domains.getByRole("button", { name: "Attach domain" }).click()
    await domains.locator(".field-error").waitFor()
    expect(await domains.getByLabel("Hostname").getAttribute("aria-invalid")).toBe("true")
    await domains.getByLabel("Hostname").fill("app.example.com")
    await domains.getByRole("button", { name: "Attach domain" }).click()
    await domains.getByText("app.example.com", { exact: true }).waitFor()
    await domains.getByRole("button", { name: "Verify" }).waitFor()

    // Edit: change the port, save, and the detail page shows it.
    await page.getByRole("link", { name: "Edit" }).click()
    await page.getByRole("heading", { name: "Edit api" }).waitFor()
    expect(await page.getByLabel("Image reference").inputValue()).toBe("registry.example/app:1.2")
    await page.getByRole("textbox", { name: "Port", exact: true }).fill("9090")
    await page.getByRole("button", { name: "Save changes" }).click()
    await page.getByRole("heading", { name: "Overview" }).waitFor()
    await page.locator("#overview").getByText("9090", { exact: true }).waitFor()

    // Command palette jumps to the project; dark theme applies.
    await page.keyboard.press("Control+k")
    await page.getByRole("dialog", { name: "Command palette" }).waitFor()
    await page.keyboard.type("shop")
    await page.keyboard.press("Enter")
    await page.getByRole("heading", { name: "shop" }).waitFor()
    await page.getByRole("button", { name: "Switch to dark theme" }).click()
    expect(await page.evaluate("document.documentElement.dataset.theme")).toBe("dark")
    await page.screenshot({ path: screenshotPath("07-project-dark"), fullPage: true })

    // Settings: an API token is shown once and listed by name; it authenticates the API.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click()
    await page.getByRole("heading", { name: "API tokens" }).waitFor()
    await page.getByLabel("Token name").fill("ci-runner")
    await page.getByRole("button", { name: "Create token" }).click()
    const minted = (await page.locator(".token-value").textContent()) ?? ""
    expect(minted.length).toBeGreaterThan(20)
    await page.getByRole("cell", { name: "ci-runner", exact: true }).waitFor()
    expect((await daemon.request("/v1/me", { token: minted })).status).toBe(200)
    await page.screenshot({ path: screenshotPath("09-settings"), fullPage: true })
    await page.getByRole("button", { name: "Revoke ci-runner" }).click()
    await page.getByText("No API tokens.").waitFor()
    expect((await daemon.request("/v1/me", { token: minted })).status).toBe(401)

    // Every form control has an accessible name (label or aria-label).
    const unlabelled = await page.evaluate(
      "[...document.querySelectorAll('input, select, textarea')].filter((e) => e.type !== 'hidden' && (e.labels?.length ?? 0) === 0 && !e.getAttribute('aria-label')).map((e) => e.outerHTML)"
    )
    expect(unlabelled).toEqual([])

    // Audit log (super-admins): the bootstrap and the logins of this walk are there.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click()
    await page.getByRole("heading", { name: "Audit log" }).waitFor()
    await page.locator("tr[data-audit-action='bootstrap']").waitFor()
    expect(await page.locator("tr[data-audit-action='login']").count()).toBeGreaterThan(0)
    await page.screenshot({ path: screenshotPath("10-audit"), fullPage: true })

    // Registry: nothing pushed yet; the page says how to push, to this daemon's host.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Registry" }).click()
    await page.getByRole("heading", { name: "Registry" }).waitFor()
    const skopeo = (await page.getByLabel("skopeo push to default/web", { exact: true }).textContent()) ?? ""
    expect(skopeo).toContain(`docker://${new URL(daemon.url).host}/default/web:v1`)
    expect(skopeo).toContain("--dest-creds x:<token>")

    // A phone: the services page fits 390 px (sidebar collapsed behind a menu button, tables scroll inside their box).
    await page.setViewportSize(PHONE)
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Services" }).waitFor({ state: "hidden" })
    await page.getByRole("button", { name: "Menu" }).click()
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Services" }).click()
    await page.getByRole("heading", { name: "Services" }).waitFor()
    await page.locator("tr[data-service='api']").waitFor()
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Services" }).waitFor({ state: "hidden" })
    await page.screenshot({ path: screenshotPath("11-services-390px"), fullPage: true })
    const widths = (await page.evaluate("({ page: document.documentElement.scrollWidth, viewport: window.innerWidth })")) as {
      page: number
      viewport: number
    }
    expect(widths.viewport).toBe(PHONE.width)
    expect(widths.page).toBeLessThanOrEqual(PHONE.width)
    await page.setViewportSize({ width: 1280, height: 860 })

    // The service exists in the API exactly as the form described it.
    const services = (await (await daemon.request("/v1/services")).json()) as {
      items: Array<{ id: string; projectId: string; name: string; port: number; source: unknown }>
    }
    serviceRef = services.items[0]
    expect(services.items).toEqual([
      expect.objectContaining({ name: "api", port: 9090, source: { type: "image", image: "registry.example/app:1.2", registryId: null } })
    ])
    await viewerSeesReadOnly(services.items[0]?.name ?? "")

    // Deleting: the project refuses while it has a service; delete the service, then the project.
    page.on("dialog", (d) => void d.accept())
    await page.goto(`${daemon.url}/projects/${serviceRef?.projectId ?? ""}`)
    await page.getByRole("button", { name: "Delete project shop" }).click()
    await page.getByRole("region", { name: "Delete project" }).getByRole("alert").waitFor()
    await page.getByRole("link", { name: "api", exact: true }).click()
    await page.getByRole("button", { name: "Delete service" }).click()
    await page.getByRole("heading", { name: "Services" }).waitFor()
    await page.getByText("No services yet").waitFor()
    await page.goto(`${daemon.url}/projects/${serviceRef?.projectId ?? ""}`)
    await page.getByRole("button", { name: "Delete project shop" }).click()
    await page.getByRole("heading", { name: "Projects" }).waitFor()
    await page.getByRole("link", { name: "default" }).waitFor()
    expect(await page.getByRole("link", { name: "shop" }).count()).toBe(0)

    // Password change (self-service, POST /v1/me/password). Each attempt counts against the login throttle (5 per
    // minute per client IP), and this walk has already signed in four times from 127.0.0.1; the daemon trusts the
    // test client as a proxy, so the rest of the walk comes from an address of its own (X-Forwarded-For).
    await page.setExtraHTTPHeaders({ "x-forwarded-for": "10.200.0.1" })
    // Another session of the same user, to see it signed out by the change.
    const other = await daemon.request("/v1/auth/login", {
      method: "POST",
      token: null,
      json: { username: "root-admin", password: PASSWORD },
      headers: { "x-forwarded-for": "10.200.0.2" }
    })
    expect(other.status).toBe(200)
    const otherToken = ((await other.json()) as { token: string }).token
    expect((await daemon.request("/v1/me", { token: otherToken })).status).toBe(200)
    await page.getByRole("link", { name: "Change password" }).click()
    await page.getByRole("heading", { name: "Change password" }).waitFor()
    expect(await page.getByText(/only super-admins/).count()).toBe(0)
    // A wrong current password is named under its input.
    await page.getByLabel("Current password").fill("not my password at all")
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel("Confirm new password").fill(NEW_PASSWORD)
    await page.getByRole("button", { name: "Change password" }).click()
    await page.getByText("does not match your current password").waitFor()
    expect(await page.getByLabel("Current password").getAttribute("aria-invalid")).toBe("true")
    await page.getByLabel("Current password").fill(PASSWORD)
    await page.getByRole("button", { name: "Change password" }).click()
    await page.getByText("Password changed. Your other sessions were signed out and your API tokens were revoked.").waitFor()
    await page.screenshot({ path: screenshotPath("12-password-changed"), fullPage: true })
    // This session stays; the other one is gone.
    expect(await page.evaluate("sessionStorage.getItem('denia.session')")).toContain("\"username\":\"root-admin\"")
    expect((await daemon.request("/v1/me", { token: otherToken })).status).toBe(401)
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Projects" }).click()
    await page.getByRole("heading", { name: "Projects" }).waitFor()
    // Signed out, the new password signs in.
    await page.getByRole("button", { name: "Log out" }).click()
    await page.getByRole("heading", { name: "Sign in to Denia" }).waitFor()
    await page.getByLabel("Username").fill("root-admin")
    await page.getByLabel("Password").fill(NEW_PASSWORD)
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("heading", { name: "Projects" }).waitFor()
    await expect(page.getByTestId("username").textContent()).resolves.toBe("root-admin")

    // The browser logs the refused requests this walk provokes on purpose (wrong password: 401, bad hostname: 400, non-empty project: 409); nothing else.
    expect(consoleErrors.filter((e) => !/status of (401|400|409) /.test(e))).toEqual([])
  }
})
